"""Run every benchmark, or one by name, at the sizes given; each prints its figures."""

import argparse
import logging
import os
import platform
import sys
import time

BENCHMARKS = ("compose", "fanout", "automation", "delivery", "outbox", "memory", "usage",
              "team", "drills")
QUICK: dict[str, list[int]] = {}


def machine() -> str:
    """One line about where the figures come from: CPU, cores, load, memory, versions."""
    model = ""
    try:
        with open("/proc/cpuinfo") as info:
            model = next((row.split(":", 1)[1].strip() for row in info
                          if row.startswith("model name")), "")
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as info:
            mem = int(info.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        mem = 0
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"machine: {model or platform.processor()}, {os.cpu_count()} cores, "
            f"{mem:,.0f} GiB RAM, load average {load}; Python {platform.python_version()}")


def main(argv: list[str]) -> int:
    """Parse the options and run the chosen benchmarks in order."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], default=[],
                        help="benchmarks to run (default: all)")
    parser.add_argument("--size", type=int, action="append",
                        help="compose: selected appointments (default 100000); fanout: "
                             "recipients (repeatable, default 10000 and 100000); "
                             "delivery: messages per run (default 2000); outbox: rows "
                             "(default 1000000); memory: messages (default 100000); usage: "
                             "messages (default 1000000)")
    parser.add_argument("--backend", action="append", choices=["postgresql", "sqlite"],
                        help="compose and fanout only (default both)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (under 5 minutes in all): compose and fanout 10,000, "
                             "delivery 1,000, outbox 100,000, memory 10,000, usage 100,000, "
                             "team 10 s; the drills only when named (also BENCH_QUICK=1)")
    args = parser.parse_args(argv)
    if args.quick or os.environ.get("BENCH_QUICK"):
        QUICK.update(compose=[10_000], fanout=[10_000], automation=[10_000], delivery=[1000],
                     outbox=[100_000], memory=[10_000], usage=[100_000])
    print(machine(), flush=True)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in args.names or BENCHMARKS:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        if name == "drills" and QUICK and not args.names:
            # at the quick sizes the drills are exactly the ones `make test` runs (2.5 minutes
            # of the 5.5 a quick run took); asked for by name they run
            print("   skipped in --quick: `make test` runs them at this size; "
                  "`python -m bench drills --quick` runs them here", flush=True)
            continue
        if name == "compose":
            from bench import compose
            compose.run(args.size or QUICK.get("compose") or [100_000],
                        tuple(args.backend or ("postgresql", "sqlite")),
                        samples=3 if QUICK else 5)
        elif name == "fanout":
            from bench import fanout
            fanout.run(args.size or QUICK.get("fanout") or [10_000, 100_000],
                       tuple(args.backend or ("postgresql", "sqlite")))
        elif name == "automation":
            from bench import automation
            automation.run(args.size or QUICK.get("automation") or [100_000],
                           tuple(args.backend or ("postgresql",)))
        elif name == "delivery":
            from bench import delivery
            delivery.run((args.size or QUICK.get("delivery") or [2000])[0], quick=bool(QUICK))
        elif name == "outbox":
            from bench import outbox
            outbox.run((args.size or QUICK.get("outbox") or [1_000_000])[0])
        elif name == "memory":
            from bench import memory
            memory.run((args.size or QUICK.get("memory") or [100_000])[0])
        elif name == "usage":
            from bench import usage
            usage.run((args.size or QUICK.get("usage") or [1_000_000])[0])
        elif name == "team":
            from bench import team
            team.run(10 if QUICK else 30)
        elif name == "drills":  # the fault drills, larger: 30 s of inbound load on PostgreSQL
            import subprocess

            env = {**os.environ, "TIDINGS_TEST_DB": "postgresql",
                   "DRILL_SECONDS": "5" if QUICK else "30"}
            if args.size:
                env["DRILL_SIZE"] = str(args.size[0])
            subprocess.call([sys.executable, "-m", "pytest", "-q", "-s", "-m", "drill",
                             "tests/drills"], env=env)
        print(f"   ({name} took {time.perf_counter() - started:,.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
