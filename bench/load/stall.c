/*
 * Host hiccups on demand, for bench/load (RUN_HOOK, see stall_hook.sh): a real-time thread that
 * takes CPU `cpu` for `burst_us` every `period_us`, as a kernel thread (this VM's kdamond.0) or a
 * descheduled vCPU takes the server's core now and then. A SCHED_FIFO thread is not preempted by
 * the server's (normal) threads, so every request that arrives during a burst waits it out.
 *
 *   stall CPU BURST_US PERIOD_US     (runs until SIGINT or SIGTERM; needs root for SCHED_FIFO)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: stall CPU BURST_US PERIOD_US\n");
    return 2;
  }
  int cpu = atoi(argv[1]);
  long long burst = atoll(argv[2]) * 1000LL, period = atoll(argv[3]) * 1000LL;
  if (burst <= 0 || period <= burst) {
    fprintf(stderr, "stall: need 0 < BURST_US < PERIOD_US\n");
    return 2;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) { perror("stall: sched_setaffinity"); return 1; }
  struct sched_param p = { .sched_priority = 1 };
  if (sched_setscheduler(0, SCHED_FIFO, &p) != 0) { perror("stall: sched_setscheduler"); return 1; }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  long long next = now_ns() + period, bursts = 0;
  while (!stop) {
    struct timespec t = { next / 1000000000LL, next % 1000000000LL };
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
    if (stop) break;
    long long end = now_ns() + burst;
    while (now_ns() < end) {}
    bursts++;
    next += period;
    long long n = now_ns();
    if (next < n) next = n + period; /* never catch up in a row */
  }
  printf("stall: %lld bursts of %lld us every %lld us on CPU %d\n", bursts, burst / 1000,
         period / 1000, cpu);
  return 0;
}
