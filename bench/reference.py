"""The fair reference of the delivery benchmark: a bare `requests` loop in a process of its own.

Same client settings as the app's Vonage client: `trust_env` off, the same CA bundle (TLS
verified), a 10 s timeout, no retries, a pool of one keep-alive connection, basic auth and the
form the SMS API gets. `python -m bench.reference URL CA N [PROCESSES]` prints the messages per
second of each process, one per line (the processes run side by side).
"""

import multiprocessing
import sys
import time

FORM = {"from": "15550009999", "text": "Hello Client1, see you tomorrow.", "to": "12025550000",
        "type": "text", "client-ref": "0"}


def loop(url: str, ca_path: str, n: int, timeout: float = 10) -> float:
    """Requests per second of one plain Session posting `n` SMS forms to `url`."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.trust_env = False
    session.verify = ca_path
    session.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0))
    session.headers.update({"User-Agent": "bench-reference", "Accept": "application/json"})
    auth = ("abcd1234", "api-secret-4f2a")
    session.post(url, data=FORM, auth=auth, timeout=timeout).raise_for_status()  # handshake
    start = time.perf_counter()
    for i in range(n):
        form = {**FORM, "client-ref": str(i)}
        session.post(url, data=form, auth=auth, timeout=timeout).json()
    return n / (time.perf_counter() - start)


def _child(args, results) -> None:
    results.put(loop(*args))


def run(url: str, ca_path: str, n: int, processes: int = 1) -> list[float]:
    """`processes` loops side by side, each in its own process; their rates."""
    results = multiprocessing.get_context("spawn").Queue()
    procs = [multiprocessing.get_context("spawn").Process(target=_child,
                                                         args=((url, ca_path, n), results))
             for _ in range(processes)]
    for proc in procs:
        proc.start()
    rates = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(10)
    return rates


if __name__ == "__main__":
    for rate in run(sys.argv[1], sys.argv[2], int(sys.argv[3]),
                    int(sys.argv[4]) if len(sys.argv) > 4 else 1):
        print(f"{rate:.1f}")
