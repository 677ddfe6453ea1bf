// UDP load generator for the FFI spike: open-loop fixed-rate (send schedule, not ping-pong) or
// ping-pong, 150-byte datagrams to an IPv6 echo server; counts replies and latency, and measures
// the server's CPU over the run from /proc/PID/stat (utime+stime, all threads) and
// /proc/PID/task/*/schedstat (ns).
//
//   gcc -O2 -o loadgen loadgen.c
//   taskset -c 0 ./loadgen -a ::1 -p 17000 -r 10000 -d 5 -w 1 -P <server pid> -l label
//   (-r 0 = ping-pong: one outstanding request at a time)
//
// Prints one TSV line: label rate_target(0 = ping-pong) sent replies loss% achieved_pps cpu_us_per_pkt(stat)
// cpu_us_per_pkt(schedstat) rtt_p50_us rtt_p99_us server_rx_drops
// user_us_per_pkt sys_us_per_pkt
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x44484350u /* "DHCP" */
#define HIST_MAX 200000   /* us */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int pid = 0;
static int server_port = 17000;

// utime+stime in clock ticks for the whole process (all threads); utime alone in *user.
static long long proc_ticks(long long *user) {
  *user = 0;
  if (!pid) return 0;
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');  // comm may contain spaces
  if (!p) return -1;
  p += 2;  // now at field 3 (state)
  long long utime = 0, stime = 0;
  for (int field = 3; field <= 15 && p; field++) {
    if (field == 14) utime = atoll(p);
    if (field == 15) stime = atoll(p);
    p = strchr(p, ' ');
    if (p) p++;
  }
  *user = utime;
  return utime + stime;
}

// Sum of on-CPU ns over every thread (threads that exited in between are lost: fine here).
static long long proc_sched_ns(void) {
  if (!pid) return 0;
  char path[96];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  if (!d) return -1;
  long long total = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p2[320];
    snprintf(p2, sizeof p2, "/proc/%d/task/%s/schedstat", pid, e->d_name);
    FILE *f = fopen(p2, "r");
    if (!f) continue;
    long long ns = 0;
    if (fscanf(f, "%lld", &ns) == 1) total += ns;
    fclose(f);
  }
  closedir(d);
  return total;
}

// Receive-queue drops of the server's socket(s) on server_port, from /proc/net/udp6.
static long long server_drops(void) {
  FILE *f = fopen("/proc/net/udp6", "r");
  if (!f) return -1;
  char line[512];
  long long drops = 0;
  if (!fgets(line, sizeof line, f)) { fclose(f); return -1; }
  while (fgets(line, sizeof line, f)) {
    char local[64];
    if (sscanf(line, "%*d: %63s", local) != 1) continue;
    char *colon = strrchr(local, ':');
    if (!colon || (int)strtol(colon + 1, NULL, 16) != server_port) continue;
    char *last = strrchr(line, ' ');
    if (last) drops += atoll(last + 1);
  }
  fclose(f);
  return drops;
}

static uint32_t hist[HIST_MAX + 1];
static long long replies = 0;

static void record(const unsigned char *buf, ssize_t n, uint32_t phase) {
  if (n < 16) return;
  uint32_t magic, ph;
  uint64_t t;
  memcpy(&magic, buf, 4);
  memcpy(&ph, buf + 4, 4);
  memcpy(&t, buf + 8, 8);
  if (magic != MAGIC || ph != phase) return;
  replies++;
  uint64_t us = (now_ns() - t) / 1000;
  hist[us > HIST_MAX ? HIST_MAX : us]++;
}

static long pct(double q) {
  long long target = (long long)(replies * q), acc = 0;
  for (int i = 0; i <= HIST_MAX; i++) {
    acc += hist[i];
    if (acc > target) return i;
  }
  return HIST_MAX;
}

static void drain(int fd, uint32_t phase, int ms) {
  unsigned char buf[2048];
  uint64_t end = now_ns() + (uint64_t)ms * 1000000ull;
  while (now_ns() < end) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 10) <= 0) continue;
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) record(buf, n, phase);
  }
}

// One phase: open loop at `rate` (or ping-pong if rate == 0) for `secs`. Returns sent.
static long long run(int fd, uint32_t phase, double rate, double secs, int size) {
  unsigned char out[2048], in[2048];
  memset(out, 0xab, sizeof out);
  memcpy(out, &(uint32_t){MAGIC}, 4);
  memcpy(out + 4, &phase, 4);
  long long sent = 0;
  uint64_t t0 = now_ns(), tend = t0 + (uint64_t)(secs * 1e9);
  if (rate <= 0) {  // ping-pong
    while (now_ns() < tend) {
      uint64_t t = now_ns();
      memcpy(out + 8, &t, 8);
      memcpy(out + 16, &sent, 8);
      if (send(fd, out, size, 0) == size) sent++;
      struct pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;  // lost: move on
      ssize_t n;
      while ((n = recv(fd, in, sizeof in, MSG_DONTWAIT)) > 0) record(in, n, phase);
    }
    return sent;
  }
  double interval = 1e9 / rate;
  for (;;) {
    uint64_t t = now_ns();
    if (t >= tend) break;
    // Send everything that is due (catches up after a hiccup: open loop).
    while (t0 + (uint64_t)(sent * interval) <= t) {
      memcpy(out + 8, &t, 8);
      memcpy(out + 16, &sent, 8);
      if (send(fd, out, size, 0) != size && errno != EAGAIN && errno != ENOBUFS) {
        perror("send");
        exit(1);
      }
      sent++;
    }
    ssize_t n;
    while ((n = recv(fd, in, sizeof in, MSG_DONTWAIT)) > 0) record(in, n, phase);
  }
  return sent;
}

int main(int argc, char **argv) {
  const char *addr = "::1", *label = "run";
  double rate = 10000, secs = 5, warm = 1;
  int size = 150, opt;
  while ((opt = getopt(argc, argv, "a:p:r:d:w:s:P:l:")) != -1) {
    switch (opt) {
      case 'a': addr = optarg; break;
      case 'p': server_port = atoi(optarg); break;
      case 'r': rate = atof(optarg); break;
      case 'd': secs = atof(optarg); break;
      case 'w': warm = atof(optarg); break;
      case 's': size = atoi(optarg); break;
      case 'P': pid = atoi(optarg); break;
      case 'l': label = optarg; break;
      default: fprintf(stderr, "usage: see source\n"); return 2;
    }
  }
  if (size < 24) size = 24;
  struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(server_port)};
  char host[128];
  snprintf(host, sizeof host, "%s", addr);
  char *pc = strchr(host, '%');
  if (pc) {
    *pc = 0;
    sa.sin6_scope_id = if_nametoindex(pc + 1);
  }
  if (inet_pton(AF_INET6, host, &sa.sin6_addr) != 1) { fprintf(stderr, "bad address\n"); return 2; }
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  int big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }

  if (warm > 0) {
    run(fd, 1, rate, warm, size);
    drain(fd, 1, 300);
  }
  replies = 0;
  memset(hist, 0, sizeof hist);
  long long drops0 = server_drops();
  long long u0, u1;
  long long ticks0 = proc_ticks(&u0), ns0 = proc_sched_ns();
  uint64_t t0 = now_ns();
  long long sent = run(fd, 2, rate, secs, size);
  double elapsed = (now_ns() - t0) / 1e9;
  drain(fd, 2, 500);
  long long ticks1 = proc_ticks(&u1), ns1 = proc_sched_ns();
  long long drops1 = server_drops();
  long hz = sysconf(_SC_CLK_TCK);
  double cpu_stat_us = (double)(ticks1 - ticks0) / hz * 1e6;
  double cpu_sched_us = (ns1 - ns0) / 1e3;
  double user_us = (double)(u1 - u0) / hz * 1e6;
  printf("%s\t%.0f\t%lld\t%lld\t%.2f\t%.0f\t%.1f\t%.1f\t%ld\t%ld\t%lld\t%.1f\t%.1f\n", label,
         rate, sent, replies,
         sent ? 100.0 * (sent - replies) / sent : 0.0, sent / elapsed,
         sent ? cpu_stat_us / sent : 0.0, sent ? cpu_sched_us / sent : 0.0, pct(0.5), pct(0.99),
         drops1 - drops0, sent ? user_us / sent : 0.0, sent ? (cpu_stat_us - user_us) / sent : 0.0);
  return 0;
}
