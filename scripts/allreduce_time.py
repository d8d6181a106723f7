"""Time one all-reduce of a gradient-sized float32 tensor between ranks on this machine (a data-parallel run's
per-mini-batch cost), for each size given: median over the calls, in ms.

    python scripts/allreduce_time.py --device cuda:0 --backend gloo --ranks 2 --floats 2000 100000 400000
        two ranks sharing one GPU (gloo, through host memory), as a shared-GPU distributed run does
    python scripts/allreduce_time.py --device cuda --backend nccl --ranks 4 --floats 400000
        one GPU per rank (cuda:<rank>), NCCL

What a data-parallel update all-reduces each mini-batch is the actor's and critic's parameters together: 2,499 floats
for cartpole, 100,817 for ant, 80,281 for go2_flat, 153,915 for g1_flat, 571,801 for go2_rough (its 235 inputs and
512-256-128 networks).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

CALLS, WARMUP = 50, 5


def _rank(rank: int, args: argparse.Namespace, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group(args.backend, rank=rank, world_size=args.ranks)
    device = torch.device(f"cuda:{rank}" if args.device == "cuda" else args.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    for floats in args.floats:
        tensor = torch.ones(floats, device=device)
        times = []
        for call in range(WARMUP + CALLS):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(tensor)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if call >= WARMUP:
                times.append(time.perf_counter() - start)
        if rank == 0:
            print(
                f"all-reduce of {floats} float32 ({4 * floats / 1e6:.2f} MB), {args.ranks} ranks, {args.backend} on "
                f"{args.device}: median {1e3 * statistics.median(times):.3f} ms over {CALLS} calls",
                flush=True,
            )
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda:0 (every rank on it) or cuda (one GPU per rank)")
    parser.add_argument("--backend", default="gloo", choices=("gloo", "nccl"))
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--floats", type=int, nargs="+", default=[100_000])
    parser.add_argument("--port", type=int, default=29533)
    args = parser.parse_args()
    mp.spawn(_rank, args=(args, args.port), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
