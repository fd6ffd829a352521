"""``python -m generation generate --prompt P --out FILE.png``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of ``generate``."""
    p = argparse.ArgumentParser(prog="python -m generation generate")
    p.add_argument("--prompt", required=True)
    p.add_argument("--negative-prompt", default="")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--guidance", type=float, default=None)
    p.add_argument("--n", type=int, default=1)
    p.add_argument("--version", default=None)
    p.add_argument("--sampler", default=None, help="e.g. euler_a, dpmpp_2m_karras (docs)")
    p.add_argument("--lora-scale", type=float, default=None, help="adapter weight (0-2)")
    p.add_argument("--model", default=None, help="diffusers checkpoint dir or hub id")
    p.add_argument("--model-dir", default="instance/models")
    p.add_argument("--upscale", type=int, default=1, help="save images enlarged (nearest)")
    p.add_argument("--out", required=True, help="FILE.png; several images become FILE-1.png, ...")
    return p.parse_args(argv)


def output_paths(out: str, n: int) -> list[Path]:
    """FILE.png for one image, FILE-1.png ... FILE-n.png for several."""
    path = Path(out)
    if n == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix or '.png'}") for i in range(1, n + 1)]


def main(argv: list[str] | None = None) -> int:
    """Generate images and save them; prints one line per file with its seed."""
    args = parse_args(argv)
    from tqdm import tqdm

    from .generator import Generator
    from .types import GenerationRequest

    gen = Generator(model=args.model, model_dir=args.model_dir)
    req = gen.validate(
        GenerationRequest(
            prompt=args.prompt,
            negative_prompt=args.negative_prompt,
            n=args.n,
            steps=args.steps,
            guidance_scale=args.guidance,
            seed=args.seed,
            version=args.version,
            sampler=args.sampler,
            lora_scale=args.lora_scale,
        )
    )
    gen.load()
    with tqdm(total=req.steps, desc="generate") as bar:
        result = gen.generate(req, progress=lambda step, total: bar.update(step - bar.n))
    paths = output_paths(args.out, len(result.images))
    for path, item in zip(paths, result.images, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        image = item.image
        if args.upscale > 1:
            image = image.resize((image.width * args.upscale,) * 2, resample=0)
        image.save(path)
        print(f"{path}  seed={item.seed}  version={result.version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
