#!/usr/bin/env python3
"""The same Pose2Im architectures in PyTorch eager, timed the way benches/generator.rs times
ours (bf16 autocast, no grad, synchronized), plus CUDA-graph replay: the baseline for the
ratio in docs/BENCHMARKS.md. Runs on the GPU machine: /opt/torch/.venv/bin/python THIS."""
import torch
import torch.nn as nn

from cuda_timing import captured, timed

# name: (ngf, downsamplings, blocks, edge kernel, space-to-depth), as src/model/pose2im.rs.
PRESETS = {"lite": (16, 3, 3, 1, 2), "ref-small": (32, 3, 6, 7, 1), "paper": (64, 4, 9, 7, 1)}
IN_CHANNELS = 18


def norm_relu(c):
    return [nn.InstanceNorm2d(c), nn.ReLU(True)]


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), *norm_relu(c),
                                  nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


def generator(ngf, downs, blocks, edge, fold):
    pad = edge // 2
    layers = [nn.PixelUnshuffle(fold)] if fold > 1 else []
    layers += [nn.ReflectionPad2d(pad), nn.Conv2d(IN_CHANNELS * fold * fold, ngf, edge), *norm_relu(ngf)]
    for i in range(downs):
        c = ngf << i
        layers += [nn.Conv2d(c, 2 * c, 3, 2, 1), *norm_relu(2 * c)]
    deep = ngf << downs
    layers += [Block(deep) for _ in range(blocks)]
    for i in range(downs):
        c = deep >> i
        layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1), *norm_relu(c // 2)]
    layers += [nn.ReflectionPad2d(pad), nn.Conv2d(ngf, 3 * fold * fold, edge)]
    layers += [nn.PixelShuffle(fold)] if fold > 1 else []
    layers += [nn.Tanh()]
    return nn.Sequential(*layers)


def main():
    print(torch.cuda.get_device_name(0), torch.__version__)
    for name, shape in PRESETS.items():
        model = generator(*shape).cuda().eval()
        for size, batch in [(256, 1), (512, 1), (512, 16)]:
            x = torch.rand(batch, IN_CHANNELS, size, size, device="cuda")

            def run():
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
                    return model(x)
            eager = timed(run)
            replay = timed(captured(run).replay)
            print(f"pytorch {name} {size}x{size} batch {batch}: eager {eager:.3f} ms, cuda graph {replay:.3f} ms")


if __name__ == "__main__":
    main()
