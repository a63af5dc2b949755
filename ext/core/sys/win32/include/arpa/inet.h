/*
 * arpa/inet.h (Windows build only) - where the core's POSIX includes find
 * inet_ntop/inet_pton on Windows: Winsock's ws2tcpip.h.
 */
#ifndef CR_WIN32_ARPA_INET_H
#define CR_WIN32_ARPA_INET_H
#include <winsock2.h>
#include <ws2tcpip.h>
#endif
