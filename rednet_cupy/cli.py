"""The `rednet` command."""

from __future__ import annotations

import argparse
import sys
import time


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from rednet_cupy import selfcheck

    t0 = time.perf_counter()
    rows = selfcheck.run(seed=args.seed)
    print(selfcheck.format_table(rows))
    failed = [r for r in rows if not r.passed]
    tol = rows[0].results[0].tol
    print(f"\n{len(rows) - len(failed)} of {len(rows)} checks passed "
          f"(float64, relative error < {tol:g}) in {time.perf_counter() - t0:.1f} s")
    return 1 if failed else 0


def cmd_info(args: argparse.Namespace) -> int:
    from rednet_cupy import runtime

    for key, value in runtime.info().items():
        print(f"{key:<22} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rednet",
        description="RED-Net image denoising and super-resolution from hand-written CUDA kernels.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("gradcheck", help="check every op's gradients and a whole RED-Net "
                       "against finite differences (exit 1 on any failure)")
    p.add_argument("--seed", type=int, default=0, help="random seed for shapes' contents")
    p.set_defaults(func=cmd_gradcheck)
    p = sub.add_parser("info", help="devices usable here, GPU, CuPy/CUDA versions, C++ compiler, "
                       "emulator cache")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
