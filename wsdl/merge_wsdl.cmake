# Makes the one WSDL of the contact-me API from the two that soapcpp2 writes
# for wsdl/beckon.h (one binding per run):
#  - adds the SOAP 1.2 binding and port of the `soapcpp2 -2` WSDL to the
#    SOAP 1.1 WSDL;
#  - moves the operations that application servers implement (the
#    registration notice, DeviceRegistered) out of ContactMePortType into
#    port type ContactMeNoticePortType, with SOAP 1.1 and 1.2 bindings and a
#    service ContactMeNotice of their own (soapcpp2 puts every operation of a
#    namespace into one port type).
#   cmake -DWSDL11=... -DWSDL12=... -DOUT=... -P merge_wsdl.cmake
cmake_minimum_required(VERSION 3.25)

set(noticeOperations DeviceRegistered)
# Application servers publish their own address; this one is never rewritten
# by beckond when it serves the WSDL (unlike the ContactMe address).
set(noticeLocation "https://application-server.example.com/beckon/notice")

# `out`: from the first `open` through the first `close` after it.
function(extract text open close out)
  string(FIND "${text}" "${open}" begin)
  if(begin EQUAL -1)
    message(FATAL_ERROR "merge_wsdl: ${open} not found")
  endif()
  string(SUBSTRING "${text}" ${begin} -1 tail)
  string(FIND "${tail}" "${close}" end)
  if(end EQUAL -1)
    message(FATAL_ERROR "merge_wsdl: ${close} not found after ${open}")
  endif()
  string(LENGTH "${close}" closeLength)
  math(EXPR length "${end} + ${closeLength}")
  string(SUBSTRING "${tail}" 0 ${length} part)
  set(${out} "${part}" PARENT_SCOPE)
endfunction()

# Removes `  <operation name="OP">...</operation>\n` from the first element
# that starts with `container` in `var`; appends the block to `outVar`.
function(cut_operation var container op outVar)
  set(text "${${var}}")
  string(FIND "${text}" "${container}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "merge_wsdl: ${container} not found")
  endif()
  string(SUBSTRING "${text}" 0 ${at} head)
  string(SUBSTRING "${text}" ${at} -1 tail)
  set(open "  <operation name=\"${op}\">")
  set(close "</operation>\n")
  string(FIND "${tail}" "${open}" begin)
  if(begin EQUAL -1)
    message(FATAL_ERROR "merge_wsdl: operation ${op} not found in ${container}")
  endif()
  string(SUBSTRING "${tail}" ${begin} -1 rest)
  string(FIND "${rest}" "${close}" end)
  string(LENGTH "${close}" closeLength)
  math(EXPR length "${end} + ${closeLength}")
  string(SUBSTRING "${rest}" 0 ${length} block)
  string(SUBSTRING "${rest}" ${length} -1 after)
  string(SUBSTRING "${tail}" 0 ${begin} before)
  set(${var} "${head}${before}${after}" PARENT_SCOPE)
  set(${outVar} "${${outVar}}${block}" PARENT_SCOPE)
endfunction()

file(READ "${WSDL11}" soap11)
file(READ "${WSDL12}" soap12)

# The notice operations, out of the ContactMe port type and bindings.
set(noticePortOps "")
set(noticeBindingOps11 "")
set(noticeBindingOps12 "")
foreach(op IN LISTS noticeOperations)
  cut_operation(soap11 "<portType name=\"ContactMePortType\">" ${op} noticePortOps)
  cut_operation(soap11 "<binding name=\"ContactMe\"" ${op} noticeBindingOps11)
  cut_operation(soap12 "<binding name=\"ContactMe\"" ${op} noticeBindingOps12)
endforeach()
string(REPLACE "<SOAP:" "<SOAP12:" noticeBindingOps12 "${noticeBindingOps12}")

extract("${soap12}" "<binding name=\"ContactMe\"" "</binding>" binding12)
string(REPLACE "<binding name=\"ContactMe\"" "<binding name=\"ContactMe12\"" binding12 "${binding12}")
string(REPLACE "<SOAP:" "<SOAP12:" binding12 "${binding12}")
extract("${binding12}" "<SOAP12:binding " "/>" soapBinding12)
extract("${soap11}" "<SOAP:binding " "/>" soapBinding11)

extract("${soap12}" "<port name=\"ContactMe\"" "</port>" port12)
string(REPLACE "name=\"ContactMe\" binding=\"tns:ContactMe\"" "name=\"ContactMe12\" binding=\"tns:ContactMe12\""
       port12 "${port12}")
string(REPLACE "<SOAP:" "<SOAP12:" port12 "${port12}")

set(noticePortType "<portType name=\"ContactMeNoticePortType\">\n${noticePortOps}</portType>")
set(noticeBindings
    "<binding name=\"ContactMeNotice\" type=\"tns:ContactMeNoticePortType\">\n  ${soapBinding11}\n${noticeBindingOps11}</binding>\n\n"
    "<binding name=\"ContactMeNotice12\" type=\"tns:ContactMeNoticePortType\">\n  ${soapBinding12}\n${noticeBindingOps12}</binding>")
string(JOIN "" noticeBindings ${noticeBindings})
set(noticeService
    "<service name=\"ContactMeNotice\">\n"
    "  <documentation>\n"
    "    Registration notice: implemented by application servers at their notice URL, called by beckond when a device becomes reachable for a package.\n"
    "  </documentation>\n"
    "  <port name=\"ContactMeNotice\" binding=\"tns:ContactMeNotice\">\n"
    "    <SOAP:address location=\"${noticeLocation}\"/>\n"
    "  </port>\n"
    "  <port name=\"ContactMeNotice12\" binding=\"tns:ContactMeNotice12\">\n"
    "    <SOAP12:address location=\"${noticeLocation}\"/>\n"
    "  </port>\n"
    "</service>")
string(JOIN "" noticeService ${noticeService})

set(ns11 "xmlns:SOAP=\"http://schemas.xmlsoap.org/wsdl/soap/\"")
string(FIND "${soap11}" "${ns11}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "merge_wsdl: ${ns11} not found in ${WSDL11}")
endif()
string(REPLACE "${ns11}" "${ns11}\n  xmlns:SOAP12=\"http://schemas.xmlsoap.org/wsdl/soap12/\"" merged "${soap11}")
string(REPLACE "</portType>" "</portType>\n\n${noticePortType}" merged "${merged}")
string(REPLACE "</binding>" "</binding>\n\n${binding12}\n\n${noticeBindings}" merged "${merged}")
string(REPLACE "</port>" "</port>\n  ${port12}" merged "${merged}")
string(REPLACE "</service>" "</service>\n\n${noticeService}" merged "${merged}")
file(WRITE "${OUT}" "${merged}")
