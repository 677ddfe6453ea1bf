// Reference floor: the same poll -> recvmmsg(DONTWAIT) -> sendmmsg(+IPV6_PKTINFO) echo in C,
// single thread. Shows what the kernel alone costs per packet, so the FFI overhead is visible.
//   gcc -O2 -o echo_c echo_c.c && taskset -c 1 ./echo_c 17000
#define _GNU_SOURCE
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define B 64
#define SLOT 2048
static unsigned char rbuf[B][SLOT], sbuf[B][SLOT];
static struct sockaddr_in6 names[B];
static char rctl[B][64], sctl[B][64];
static struct iovec riov[B], siov[B];
static struct mmsghdr rm[B], sm[B];

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 17000, one = 1, big = 4 << 20;
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
  struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_loopback};
  if (bind(fd, (void *)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
  for (int i = 0; i < B; i++) {
    riov[i] = (struct iovec){rbuf[i], SLOT};
    siov[i] = (struct iovec){sbuf[i], 0};
    rm[i].msg_hdr = (struct msghdr){.msg_name = &names[i], .msg_iov = &riov[i], .msg_iovlen = 1, .msg_control = rctl[i]};
    sm[i].msg_hdr = (struct msghdr){.msg_name = &names[i], .msg_namelen = sizeof sa, .msg_iov = &siov[i], .msg_iovlen = 1, .msg_control = sctl[i], .msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo))};
  }
  fprintf(stderr, "echo_c pid %d port %d\n", getpid(), port);
  int full = 0;
  for (;;) {
    for (int i = 0; i < B; i++) { rm[i].msg_hdr.msg_namelen = sizeof sa; rm[i].msg_hdr.msg_controllen = 64; }
    int n = full ? recvmmsg(fd, rm, B, MSG_DONTWAIT, NULL) : 0;
    if (n <= 0) {
      struct pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      n = recvmmsg(fd, rm, B, MSG_DONTWAIT, NULL);
      if (n <= 0) continue;
    }
    for (int i = 0; i < n; i++) {
      unsigned len = rm[i].msg_len;
      memcpy(sbuf[i], rbuf[i], len);
      sbuf[i][len - 1] ^= 0xff;
      siov[i].iov_len = len;
      struct cmsghdr *c = CMSG_FIRSTHDR(&rm[i].msg_hdr), *o = (struct cmsghdr *)sctl[i];
      for (; c; c = CMSG_NXTHDR(&rm[i].msg_hdr, c))
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
          o->cmsg_level = IPPROTO_IPV6; o->cmsg_type = IPV6_PKTINFO; o->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
          memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(struct in6_pktinfo));
        }
    }
    sendmmsg(fd, sm, n, 0);
    full = n == B;
  }
}
