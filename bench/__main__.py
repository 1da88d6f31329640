"""Run every benchmark, or one by name, at the sizes given; each prints its figures."""

import argparse
import logging
import sys
import time

BENCHMARKS = ("fanout", "delivery", "outbox", "memory")


def main(argv: list[str]) -> int:
    """Parse the options and run the chosen benchmarks in order."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], default=[],
                        help="benchmarks to run (default: all)")
    parser.add_argument("--size", type=int, action="append",
                        help="fanout: recipients (repeatable, default 10000 and 100000); "
                             "delivery: messages per run (default 2000); outbox: rows "
                             "(default 1000000); memory: messages (default 100000)")
    parser.add_argument("--backend", action="append", choices=["postgresql", "sqlite"],
                        help="fanout only (default both)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in args.names or BENCHMARKS:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        if name == "fanout":
            from bench import fanout
            fanout.run(args.size or [10_000, 100_000],
                       tuple(args.backend or ("postgresql", "sqlite")))
        elif name == "delivery":
            from bench import delivery
            delivery.run((args.size or [2000])[0])
        elif name == "outbox":
            from bench import outbox
            outbox.run((args.size or [1_000_000])[0])
        elif name == "memory":
            from bench import memory
            memory.run((args.size or [100_000])[0])
        print(f"   ({name} took {time.perf_counter() - started:,.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
