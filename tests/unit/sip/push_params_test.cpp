// RFC 8599's Contact URI parameters as the registrar reads them (sip/push_params.cpp).
#include <boost/test/unit_test.hpp>

#include "push_params.h"

using namespace beckon;
using namespace beckon::sip;

namespace {

const std::vector<std::string> kProviders{"apns", "fcm"};

ContactPush of(const char* uri) {
  Home home;
  url_t* url = url_hdup(home.get(), URL_STRING_MAKE(uri)->us_url);
  return contactPush(url, kProviders);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(push_params)

BOOST_AUTO_TEST_CASE(the_three_parameters_are_read_and_unescaped) {
  const ContactPush p =
      of("sip:a@h;transport=tcp;PN-Provider=APNS;pn-prid=ab%3Acd;pn-param=x.voip");
  BOOST_TEST(p.status == 0);
  BOOST_TEST(p.named);
  BOOST_TEST(p.target.provider == "apns");  // as configured
  BOOST_TEST(p.target.prid == "ab:cd");
  BOOST_TEST(p.target.param == "x.voip");
}

BOOST_AUTO_TEST_CASE(a_provider_alone_only_asks) {
  const ContactPush p = of("sip:a@h;pn-provider=fcm");
  BOOST_TEST(p.status == 0);
  BOOST_TEST(p.named);
  BOOST_TEST(p.target.empty());
}

BOOST_AUTO_TEST_CASE(none_is_nothing) {
  const ContactPush p = of("sip:a@h;transport=udp");
  BOOST_TEST(p.status == 0);
  BOOST_TEST(!p.named);
  BOOST_TEST(p.target.empty());
}

BOOST_AUTO_TEST_CASE(what_cannot_be_used_is_refused) {
  BOOST_TEST(of("sip:a@h;pn-provider=mpns;pn-prid=x").status == 555);
  BOOST_TEST(of("sip:a@h;pn-provider=mpns;pn-prid=x").phrase ==
             "Push Notification Service Not Supported");
  BOOST_TEST(of("sip:a@h;pn-prid=x").status == 400);
  BOOST_TEST(of("sip:a@h;pn-provider=apns;pn-prid=").status == 400);
  BOOST_TEST(of("sip:a@h;pn-provider=apns;pn-prid=a%0Db").status == 400);   // a CR
  BOOST_TEST(of("sip:a@h;pn-provider=apns;pn-prid=%C3%28").status == 400);  // not UTF-8
  BOOST_TEST(of(("sip:a@h;pn-provider=apns;pn-prid=" + std::string(2049, 'a')).c_str()).status ==
             400);
}

BOOST_AUTO_TEST_CASE(feature_caps_name_every_provider) {
  BOOST_TEST(featureCapsHeader(kProviders) == "Feature-Caps: *;+sip.pns=\"apns,fcm\"");
  BOOST_TEST(featureCapsHeader({}).empty());
}

BOOST_AUTO_TEST_SUITE_END()
