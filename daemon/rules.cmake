# crmd_rules: the rule condition language (docs/rules.md), compiled to
# parameterised SQLite queries over the per-customer facts.  Pure logic
# over an sqlite3 handle the caller owns; no other part of crmd.
add_library(crmd_rules STATIC rules_lex.c rules_parse.c rules_sql.c
  rules_facts.c rules_compile.c)
target_include_directories(crmd_rules PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(crmd_rules PUBLIC PkgConfig::SQLITE)
