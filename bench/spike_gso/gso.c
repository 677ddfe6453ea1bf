// Spike for io-udp-gso (bench/load/PROFILE.md, round fourteen): the sender's CPU per datagram
// for N datagrams of SIZE bytes sent with one sendmmsg(2) of N messages ("mmsg") against one
// sendmsg(2) carrying UDP_SEGMENT ("gso"), BATCHES times a second. See run.sh.
//
//   gso recv [spin]                         receive on [2001:db8:9::2]:546 (spin: never block)
//   gso send mmsg|gso N SIZE BATCHES_PER_S SECONDS
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static double cpu_us(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int bound(const char *address, int port) {
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
  inet_pton(AF_INET6, address, &a.sin6_addr);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("bind");
    exit(1);
  }
  return fd;
}

static int receive(int spin) {
  int fd = bound("2001:db8:9::2", 546);
  int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  static char buf[64][2048];
  struct mmsghdr m[64];
  struct iovec io[64];
  for (;;) {
    for (int i = 0; i < 64; i++) {
      io[i] = (struct iovec){buf[i], sizeof buf[i]};
      memset(&m[i], 0, sizeof m[i]);
      m[i].msg_hdr.msg_iov = &io[i];
      m[i].msg_hdr.msg_iovlen = 1;
    }
    recvmmsg(fd, m, 64, spin ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "recv")) return receive(argc > 2);
  if (argc != 7 || strcmp(argv[1], "send")) {
    fprintf(stderr, "usage: gso recv [spin] | gso send mmsg|gso N SIZE BATCHES_PER_S SECONDS\n");
    return 2;
  }
  int gso = !strcmp(argv[2], "gso"), n = atoi(argv[3]), size = atoi(argv[4]);
  double period = 1e6 / atof(argv[5]), seconds = atof(argv[6]);
  if (n < 1 || n > 64 || size < 1 || size * n > 60000) return 2;
  int fd = bound("2001:db8:9::1", 547);
  struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(546)};
  inet_pton(AF_INET6, "2001:db8:9::2", &to.sin6_addr);
  static char data[65536];
  memset(data, 0x5a, sizeof data);
  struct mmsghdr m[64];
  struct iovec io[64];
  char control[CMSG_SPACE(sizeof(uint16_t))];
  long sent = 0;
  double start = now_us(), cpu0 = cpu_us(), next = start;
  while (now_us() - start < seconds * 1e6) {
    double t = now_us();
    if (t < next) {
      struct timespec pause = {0, (long)((next - t) * 1000)};
      nanosleep(&pause, NULL);
      continue;
    }
    next += period;
    if (gso) {
      struct msghdr h = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = io, .msg_iovlen = 1,
                         .msg_control = control, .msg_controllen = sizeof control};
      io[0] = (struct iovec){data, (size_t)n * size};
      struct cmsghdr *c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      *(uint16_t *)CMSG_DATA(c) = size;
      if (sendmsg(fd, &h, 0) < 0) {
        perror("sendmsg");
        return 1;
      }
      sent += n;
    } else {
      for (int i = 0; i < n; i++) {
        io[i] = (struct iovec){data + i * size, (size_t)size};
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_name = &to;
        m[i].msg_hdr.msg_namelen = sizeof to;
        m[i].msg_hdr.msg_iov = &io[i];
        m[i].msg_hdr.msg_iovlen = 1;
      }
      int k = sendmmsg(fd, m, n, 0);
      if (k < 0) {
        perror("sendmmsg");
        return 1;
      }
      sent += k;
    }
  }
  printf("%s N=%d size=%d sent=%ld cpu_us_per_datagram=%.3f\n", gso ? "gso" : "mmsg", n, size, sent,
         (cpu_us() - cpu0) / sent);
  return 0;
}
