# Fails when a source file includes a header of a module it may not depend on.
#   cmake -DMODULE=exporter/drift -DALLOWED=core|exporter/stats -DFILES=a.cc|a.h [-DSTAMP=f]
#         -P check_module_includes.cmake
# (lists joined by "|").
# A module is `core`, `rulegen` or `exporter/<dir>`; an include "exporter/<dir>/x.h" belongs to
# `exporter/<dir>`, "core/x.h" to `core`, "rulegen/x.h" to `rulegen`. Other headers (system,
# libraries) and the module's own are always allowed. The allowed lists are declared once, by
# modelwatch_module() in cmake/modules.cmake; ARCHITECTURE.md draws the same graph.
string(REPLACE "|" ";" ALLOWED "${ALLOWED}")
string(REPLACE "|" ";" FILES "${FILES}")
set(errors 0)
foreach(file IN LISTS FILES)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*$" "\\1" header "${line}")
    if(header MATCHES "^exporter/([^/]+)/")
      set(owner "exporter/${CMAKE_MATCH_1}")
    elseif(header MATCHES "^(core|rulegen)/")
      set(owner "${CMAKE_MATCH_1}")
    else()
      continue()  # a library's header
    endif()
    if(owner STREQUAL MODULE)
      continue()
    endif()
    list(FIND ALLOWED "${owner}" found)
    if(found EQUAL -1)
      message(SEND_ERROR "${file}: includes \"${header}\", but module ${MODULE} may depend only "
        "on: ${ALLOWED} (declared in cmake/modules.cmake; see ARCHITECTURE.md)")
      math(EXPR errors "${errors} + 1")
    endif()
  endforeach()
endforeach()
if(errors EQUAL 0 AND DEFINED STAMP)
  file(WRITE "${STAMP}" "")
endif()
