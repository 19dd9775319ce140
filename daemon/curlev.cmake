# crmd_curlev: libcurl's multi_socket API on a libevent loop, the transport
# under the delivery channels (SMTP, SMS, webhooks), and the same on a
# thread of its own (curlthread.c) for SMTP, which libcurl may block.
find_package(Threads REQUIRED)
add_library(crmd_curlev STATIC curlev.c curlthread.c)
target_include_directories(crmd_curlev PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(crmd_curlev PUBLIC crmd_common crmd_log crmd_thread
  PkgConfig::CURL PkgConfig::LIBEVENT Threads::Threads)
