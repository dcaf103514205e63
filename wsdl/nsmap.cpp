// The gSOAP namespace table `namespaces[]`, which libgsoapssl++ refers to.
// It must be compiled into every executable exactly once, never into a
// static library (stack.md, pitfall 1): executables get it by linking the
// INTERFACE target beckon_nsmap.
#include "soapH.h"
#include "ContactMe.nsmap"
