/*
 * Secrets (passwords, API tokens) come from files, never from the config
 * text: either an absolute path, or a credential name looked up in
 * $CREDENTIALS_DIRECTORY (systemd's LoadCredential=).  A file that group
 * or other can read is refused.  Secret contents are never logged.
 */
#ifndef CRMD_SECRET_H
#define CRMD_SECRET_H

/*
 * Returns the secret (malloc'd, trailing newline stripped) named by ref,
 * or NULL with *err set to a malloc'd message that names the file but
 * never its contents.
 */
char	*secret_read(const char *ref, char **err);

/* Overwrites and frees a secret returned by secret_read(). */
void	 secret_free(char *secret);

#endif
