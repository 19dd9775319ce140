# Time layer: the configured zone, working hours and RFC 5545 recurrence
# rules (libical).  Pure functions of instants, so tests inject the clock.
pkg_check_modules(LIBICAL REQUIRED IMPORTED_TARGET libical)
add_library(crmd_time STATIC tz.c workhours.c recur.c)
target_include_directories(crmd_time PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(crmd_time PUBLIC crmd_common crmd_log PkgConfig::LIBICAL)
