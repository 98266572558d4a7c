# One static library per module, linked only to the modules it may depend on, and a build step
# that fails when a module's sources include a header of any other module:
#
#   modelwatch_module(<target> DIR <dir> [DEPS <module target>...] [LIBS <library>...]
#                     [SOURCES <extra source>...])
#
# DIR is the module's folder relative to the project root (`core`, `exporter/drift`); its *.cc
# are compiled (main.cc excluded), its *.cc and *.h checked. DEPS are other modules' targets;
# a module may include headers of exactly those (not of their dependencies: what a module
# uses, it names). The graph is drawn in ARCHITECTURE.md.
function(modelwatch_module target)
  cmake_parse_arguments(M "" "DIR" "DEPS;LIBS;SOURCES" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${M_DIR}/*.cc)
  list(FILTER sources EXCLUDE REGEX "/main\\.cc$")
  file(GLOB headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${M_DIR}/*.h)
  add_library(${target} STATIC ${sources} ${M_SOURCES})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC ${M_DEPS} ${M_LIBS})
  set_property(TARGET ${target} PROPERTY MODELWATCH_MODULE_DIR ${M_DIR})

  set(allowed "")
  foreach(dep IN LISTS M_DEPS)
    get_property(dir TARGET ${dep} PROPERTY MODELWATCH_MODULE_DIR)
    if(NOT dir)
      message(FATAL_ERROR "modelwatch_module(${target}): ${dep} is not a module")
    endif()
    list(APPEND allowed ${dir})
  endforeach()
  # Lists travel to the script joined by "|" (a ";" would split the command's arguments).
  list(JOIN allowed "|" allowed_arg)
  set(files ${sources} ${headers})
  list(JOIN files "|" files_arg)
  set(stamp ${CMAKE_CURRENT_BINARY_DIR}/${target}.includes-checked)
  add_custom_command(OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -DMODULE=${M_DIR} -DALLOWED=${allowed_arg} -DFILES=${files_arg}
            -DSTAMP=${stamp}
            -P ${PROJECT_SOURCE_DIR}/cmake/check_module_includes.cmake
    DEPENDS ${sources} ${headers} ${PROJECT_SOURCE_DIR}/cmake/check_module_includes.cmake
    COMMENT "Checking the includes of ${M_DIR}"
    VERBATIM)
  add_custom_target(${target}_includes DEPENDS ${stamp})
  add_dependencies(${target} ${target}_includes)
endfunction()
