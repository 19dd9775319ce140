# HTTP gateways (sms, webhook): request building, reply classification,
# phone numbers and quiet hours.  Pure logic; http.c does the I/O.
add_library(crmd_gateway STATIC gateway.c)
target_include_directories(crmd_gateway PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(crmd_gateway PUBLIC crmd_conf crmd_time
  PkgConfig::JANSSON)
