# crowdiff_target_options(<target>): the warning policy for our own code. Third-party headers are included
# as SYSTEM so their warnings do not fail our build.
function(crowdiff_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference
                                           -Wimplicit-fallthrough)
  if(CROWDIFF_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# crowdiff_add_test(<name> LABELS <labels...> SOURCES <files...> LIBS <libs...>): one Boost.Test program,
# registered with CTest under <name>.
function(crowdiff_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "LABELS;SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  crowdiff_target_options(${name})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} Boost::unit_test_framework)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK)
  add_test(NAME ${name} COMMAND ${name} --log_level=warning --report_level=short)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
endfunction()
