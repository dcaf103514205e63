# Fails listing the files that clang-format would change.
file(GLOB_RECURSE files RELATIVE ${ROOT}
     ${ROOT}/notifier/*.cpp ${ROOT}/notifier/*.h ${ROOT}/sip/*.cpp ${ROOT}/sip/*.h
     ${ROOT}/soap/*.cpp ${ROOT}/soap/*.h ${ROOT}/app/*.cpp ${ROOT}/app/*.h ${ROOT}/ua/*.cpp ${ROOT}/ua/*.h
     ${ROOT}/store/*.cpp ${ROOT}/store/*.h ${ROOT}/bench/*.cpp ${ROOT}/tests/*.cpp ${ROOT}/tests/*.h
     ${ROOT}/wsdl/*.cpp)
set(bad "")
foreach(f IN LISTS files)
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${ROOT}/${f}
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    list(APPEND bad ${f})
  endif()
endforeach()
if(bad)
  list(JOIN bad "\n  " text)
  message(FATAL_ERROR "not clang-formatted (run clang-format -i on them):\n  ${text}")
endif()
list(LENGTH files n)
message(STATUS "${n} files clang-formatted")
