# Helpers shared by every folder: warnings on our code only (errors with
# LLM_EXPORTER_WERROR, as CI and scripts/test build), one
# static library per folder, one Boost.Test executable per folder.

# Revision for llm_exporter_build_info, read once at configure time.
execute_process(
  COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE LLM_EXPORTER_REVISION
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT LLM_EXPORTER_REVISION)
  set(LLM_EXPORTER_REVISION "unknown")
endif()

function(llm_exporter_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(LLM_EXPORTER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # GCC 12 reports a false -Wrestrict inside <bits/char_traits.h> at -O2/-O3
  # (GCC bug 105329): not a problem of our code.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()

# llm_exporter_library(NAME SOURCES ... DEPS ...)
function(llm_exporter_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  llm_exporter_warnings(${name})
endfunction()

# llm_exporter_unit_test(NAME SOURCES ... DEPS ...): a Boost.Test executable
# registered with CTest; tests find their data in the source tree via LLM_EXPORTER_SOURCE_DIR.
function(llm_exporter_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} Boost::unit_test_framework)
  target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK
    LLM_EXPORTER_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    LLM_EXPORTER_BINARY_DIR="${CMAKE_BINARY_DIR}")
  llm_exporter_warnings(${name})
  add_test(NAME ${name} COMMAND ${name} --log_level=test_suite --report_level=short)
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()
