"""Two CPU processes with the gloo backend train one GAN with DistributedDataParallel."""

import json
import os
import socket

import torch
import torch.multiprocessing as mp

from t2i_core.train import distributed as du


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, out: str, port: int) -> None:
    # what torchrun would set for each process
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    torch.set_num_threads(1)
    from t2i_core.train.gan_data import from_arrays
    from t2i_core.train.gan_trainer import GANTrainConfig, Trainer

    info = du.init_from_env("cpu")
    assert (info.rank, info.world_size, info.backend) == (rank, world, "gloo")
    g = torch.Generator().manual_seed(0)
    n = 32
    images = torch.randint(0, 256, (n, 76, 76, 3), dtype=torch.uint8, generator=g)
    emb, labels = torch.randn(2 * n, 32, generator=g), torch.arange(n) % 8
    mine = torch.arange(rank, n, world)  # this rank's shard
    rows = torch.stack([2 * mine, 2 * mine + 1], 1).flatten()
    data = from_arrays(images[mine], emb[rows], torch.arange(len(mine) + 1) * 2, labels[mine], n_total=n)
    cfg = GANTrainConfig(variant="gan-int-cls", preset="tiny", steps=3, batch_size=8, sample_every=3,
                         ckpt_every=3, log_every=1, standing_stats_batches=2, device="cpu", ema_decay=0.5)
    trainer = Trainer(cfg, data, out, dist=info, progress=False)
    result = trainer.train()
    torch.save({"params": [p.detach().clone() for p in trainer.G.parameters()] +
                          [p.detach().clone() for p in trainer.D.parameters()],
                "result": result}, os.path.join(out, f"rank{rank}.pt"))
    du.shutdown(info)


def test_two_gloo_processes_train_in_sync(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path), _free_port()), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    # each rank saw different data; DDP averaged the gradients, so the weights agree
    assert all(torch.equal(a, b) for a, b in zip(r0["params"], r1["params"]))
    assert r0["result"]["step"] == r1["result"]["step"] == 3
    assert "weights" in r0["result"] and "weights" not in r1["result"]  # only rank 0 writes
    ckpt = torch.load(tmp_path / "checkpoints" / "step_00000003.pt", weights_only=True)
    assert ckpt["world_size"] == 2 and len(ckpt["ranks"]) == 2
    assert not torch.equal(ckpt["ranks"][0]["rng"]["torch"], ckpt["ranks"][1]["rng"]["torch"])
    train_rows = [r for r in map(json.loads, (tmp_path / "log.jsonl").read_text().splitlines()) if r["event"] == "train"]
    assert [r["step"] for r in train_rows] == [1, 2, 3]  # one writer
    config = json.loads((tmp_path / "weights" / "config.json").read_text())
    assert config["training"]["world_size"] == 2


def test_single_process_helpers_are_no_ops():
    info = du.DistInfo()
    t = torch.tensor([1.0, 2.0])
    assert torch.equal(du.all_reduce_mean(t, info), t)
    assert du.all_gather_objects({"a": 1}, info) == [{"a": 1}]
    assert du.broadcast_object(3, info) == 3
    module = torch.nn.Linear(2, 2)
    assert du.wrap(module, info) is module and du.unwrap(module) is module
    du.barrier(info)
