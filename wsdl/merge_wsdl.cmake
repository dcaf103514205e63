# Adds the SOAP 1.2 binding and port of a `soapcpp2 -2` WSDL to the SOAP 1.1
# WSDL of the same header, so that one WSDL describes both (soapcpp2 writes
# one binding per run).
#   cmake -DWSDL11=... -DWSDL12=... -DOUT=... -P merge_wsdl.cmake
cmake_minimum_required(VERSION 3.25)

function(extract text open close out)
  string(FIND "${text}" "${open}" begin)
  string(FIND "${text}" "${close}" end)
  if(begin EQUAL -1 OR end EQUAL -1)
    message(FATAL_ERROR "merge_wsdl: ${open} ... ${close} not found")
  endif()
  string(LENGTH "${close}" closeLength)
  math(EXPR length "${end} + ${closeLength} - ${begin}")
  string(SUBSTRING "${text}" ${begin} ${length} part)
  set(${out} "${part}" PARENT_SCOPE)
endfunction()

file(READ "${WSDL11}" soap11)
file(READ "${WSDL12}" soap12)

extract("${soap12}" "<binding name=\"ContactMe\"" "</binding>" binding12)
string(REPLACE "<binding name=\"ContactMe\"" "<binding name=\"ContactMe12\"" binding12 "${binding12}")
string(REPLACE "<SOAP:" "<SOAP12:" binding12 "${binding12}")

extract("${soap12}" "<port name=\"ContactMe\"" "</port>" port12)
string(REPLACE "name=\"ContactMe\" binding=\"tns:ContactMe\"" "name=\"ContactMe12\" binding=\"tns:ContactMe12\""
       port12 "${port12}")
string(REPLACE "<SOAP:" "<SOAP12:" port12 "${port12}")

set(ns11 "xmlns:SOAP=\"http://schemas.xmlsoap.org/wsdl/soap/\"")
string(FIND "${soap11}" "${ns11}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "merge_wsdl: ${ns11} not found in ${WSDL11}")
endif()
string(REPLACE "${ns11}" "${ns11}\n  xmlns:SOAP12=\"http://schemas.xmlsoap.org/wsdl/soap12/\"" merged "${soap11}")
string(REPLACE "</binding>" "</binding>\n\n${binding12}" merged "${merged}")
string(REPLACE "</port>" "</port>\n  ${port12}" merged "${merged}")
file(WRITE "${OUT}" "${merged}")
