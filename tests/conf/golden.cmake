# Runs conf_check on NAME.conf from DIR and compares its stdout with
# NAME.err (bad configs) or with nothing (good configs).  Invoked by ctest:
#   cmake -DCHECK=conf_check -DDIR=dir -DNAME=name [-DGOOD=1] -P golden.cmake
# The file is named relative to DIR so the messages are stable, TZDIR
# is unset so timezone messages name the system zone directory, and
# CREDENTIALS_DIRECTORY so a credential name is reported as unset.
unset(ENV{TZDIR})
unset(ENV{CREDENTIALS_DIRECTORY})
execute_process(COMMAND ${CHECK} ${NAME}.conf
  WORKING_DIRECTORY ${DIR}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(GOOD)
  set(expected "")
  set(want_rc 0)
else()
  file(READ ${DIR}/${NAME}.err expected)
  set(want_rc 1)
endif()
if(NOT rc EQUAL want_rc OR NOT out STREQUAL expected OR NOT err STREQUAL "")
  message(FATAL_ERROR "${DIR}/${NAME}.conf: exit ${rc} (want ${want_rc})\n"
    "--- expected\n${expected}--- got\n${out}--- stderr\n${err}")
endif()
