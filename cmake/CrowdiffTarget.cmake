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
# registered with CTest once per suite, as <name>.<suite> (each runs with --run_test=<suite>), so a failure
# names its suite and `ctest -R` picks one. The suites are read from the sources' top-level
# BOOST_AUTO_TEST_SUITE / BOOST_FIXTURE_TEST_SUITE lines; editing a source re-runs this at the next build.
function(crowdiff_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "LABELS;SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  crowdiff_target_options(${name})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} Boost::unit_test_framework)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  crowdiff_include_root(${name} tests)
  target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set(suites "")
  foreach(source IN LISTS ARG_SOURCES)
    get_filename_component(path ${source} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    # Once per file: a source shared by two programs must not become two configure rules.
    get_property(watched GLOBAL PROPERTY CROWDIFF_WATCHED_TEST_SOURCES)
    if(NOT path IN_LIST watched)
      set_property(GLOBAL APPEND PROPERTY CROWDIFF_WATCHED_TEST_SOURCES ${path})
      set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path})
    endif()
    file(STRINGS ${path} lines REGEX "^BOOST_(AUTO|FIXTURE)_TEST_SUITE\\(")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^BOOST_(AUTO|FIXTURE)_TEST_SUITE\\(([A-Za-z0-9_]+).*$" "\\2" suite "${line}")
      list(APPEND suites ${suite})
    endforeach()
  endforeach()
  if(NOT suites)
    message(FATAL_ERROR "${name}: no BOOST_AUTO_TEST_SUITE in its sources (every test file has one suite)")
  endif()
  foreach(suite IN LISTS suites)
    add_test(NAME ${name}.${suite} COMMAND ${name} --run_test=${suite} --log_level=warning --report_level=short)
    set_tests_properties(${name}.${suite} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  endforeach()
endfunction()

# crowdiff_include_root(<target> <path>...): the target's include root. Sources include project headers by
# their path from the repository root ("kernels/backend.hpp"); a library exports a root that holds only its
# own top-level folders, or single headers (links in the build tree), so a target can include only what it
# links: a missing dependency is a compile error, not a silent reach into another library's headers.
function(crowdiff_include_root target)
  set(root ${CMAKE_BINARY_DIR}/include_roots/${target})
  file(MAKE_DIRECTORY ${root})
  foreach(path IN LISTS ARGN)
    if(NOT EXISTS ${root}/${path})
      get_filename_component(parent ${root}/${path} DIRECTORY)
      file(MAKE_DIRECTORY ${parent})
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${path} ${root}/${path} SYMBOLIC)
    endif()
  endforeach()
  get_target_property(kind ${target} TYPE)
  if(kind STREQUAL "EXECUTABLE")
    target_include_directories(${target} PRIVATE ${root})
  elseif(kind STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE ${root})
  else()
    target_include_directories(${target} PUBLIC ${root})
  endif()
endfunction()
