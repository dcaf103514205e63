// The WSDL of the contact-me API, as generated from wsdl/beckon.h at build
// time (SOAP 1.1 and 1.2 bindings). Its soap:address locations are
// kLocationPlaceholder: a server replaces them with its own URL.
#pragma once

#include <string_view>

namespace beckon::wsdl {

extern const std::string_view kContactMeWsdl;
extern const std::string_view kLocationPlaceholder;

}  // namespace beckon::wsdl
