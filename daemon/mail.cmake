# crmd_mail: one email built for libcurl's SMTP upload (RFC 2047 headers,
# CRLF bodies, validated addresses).  Pure construction, no I/O.
add_library(crmd_mail STATIC mail.c)
target_include_directories(crmd_mail PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(crmd_mail PUBLIC PkgConfig::CURL)
