# kiln_module(NAME DEPS ...): static library kiln_NAME from every .cpp in the calling folder
# (an INTERFACE library while the folder has none), include root src/.
function(kiln_module name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(sources)
    add_library(kiln_${name} STATIC ${sources})
    target_include_directories(kiln_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(kiln_${name} PUBLIC ${ARG_DEPS})
  else()
    add_library(kiln_${name} INTERFACE)
    target_include_directories(kiln_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(kiln_${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()

# kiln_tests(NAME DEPS ... [LABELS ...]): test_NAME from every .cpp in tests/NAME, run by ctest.
function(kiln_tests name)
  cmake_parse_arguments(ARG "" "" "DEPS;LABELS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  if(NOT sources)
    return()
  endif()
  add_executable(test_${name} ${sources})
  target_link_libraries(test_${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(test_${name} PRIVATE
    KILN_TEST_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/${name}/data"
    KILN_BINARY="$<TARGET_FILE:kiln>")
  set(labels ${name} ${ARG_LABELS})
  gtest_discover_tests(test_${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${labels}")
endfunction()
