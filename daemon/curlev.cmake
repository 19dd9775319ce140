# crmd_curlev: libcurl's multi_socket API on the libevent loop, the
# transport under the delivery channels (SMTP, SMS, webhooks).
add_library(crmd_curlev STATIC curlev.c)
target_include_directories(crmd_curlev PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(crmd_curlev PUBLIC crmd_log PkgConfig::CURL
  PkgConfig::LIBEVENT)
