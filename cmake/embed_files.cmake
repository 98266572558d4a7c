# Writes OUTPUT, a C++ source defining `const std::map<std::string, std::string_view>&
# modelwatch::FUNCTION()` (declared in HEADER) that maps the name of every file in DIR matching
# GLOBS (a ;-list of patterns relative to DIR, searched recursively) to its bytes. The output is
# rewritten only when it changes, so an unchanged template does not trigger a rebuild.
# Run as: cmake -DDIR=... -DGLOBS=... -DHEADER=... -DFUNCTION=... -DOUTPUT=... -P embed_files.cmake
set(patterns "")
foreach(g ${GLOBS})
  list(APPEND patterns ${DIR}/${g})
endforeach()
file(GLOB_RECURSE files RELATIVE ${DIR} ${patterns})
list(SORT files)
set(body "")
set(entries "")
foreach(f ${files})
  file(READ ${DIR}/${f} content HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${content}")
  string(MAKE_C_IDENTIFIER "${f}" id)
  string(APPEND body "const char k_${id}[] = {${bytes} 0};\n")
  string(APPEND entries "      {\"${f}\", std::string_view(k_${id}, sizeof(k_${id}) - 1)},\n")
endforeach()
get_filename_component(dir_name ${DIR} NAME)
set(text "// Generated from ${dir_name}/ at build time. Do not edit.\n#include \"${HEADER}\"\n\nnamespace modelwatch {\nnamespace {\n${body}}  // namespace\n\nconst std::map<std::string, std::string_view>& ${FUNCTION}() {\n  static const std::map<std::string, std::string_view> kFiles = {\n${entries}  };\n  return kFiles;\n}\n\n}  // namespace modelwatch\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUTPUT} "${text}")
endif()
