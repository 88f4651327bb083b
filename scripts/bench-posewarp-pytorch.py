#!/usr/bin/env python3
"""Posewarp as src/model/posewarp.rs and src/model/unet.rs build it, in PyTorch, timed the
way benches/posewarp.rs times ours: bf16 weights and inputs, no grad, synchronized; a
driving frame (the limb grids from ten 2x3 transforms, the warps in f32, the foreground
U-Net at its scale, the refinement, the blend) in eager mode and as a CUDA-graph replay, and a source prepared (mask and
background U-Nets) in eager mode. Runs on the GPU machine: /opt/torch/.venv/bin/python THIS."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from cuda_timing import captured, timed

LIMBS, JOINTS, POSE = 10, 14, 24
EPS = 1e-3
# name: per U-Net (ngf, depth, max channels, full-resolution kernel) for mask, foreground,
# background, then the foreground's scale and the refinement's channels, as PosewarpConfig's
# presets.
LITE = [(16, 4, 64, 3), (16, 4, 64, 3), (8, 4, 32, 3)]
PRESETS = {
    "lite": (LITE, 1, 0),
    "lite-fast": (LITE, 2, 8),
    "paper": ([(64, 5, 512, 3)] * 3, 1, 0),
}


class UNet(nn.Module):
    """Strided 3x3 convs down, nearest doubling + skip + 3x3 conv up (`edge` at full
    resolution, and the head), LeakyReLU 0.2."""

    def __init__(self, ngf, depth, max_channels, edge, cin, cout):
        super().__init__()
        width = lambda level: cin if level == 0 else min(ngf << (level - 1), max_channels)
        self.down = nn.ModuleList(nn.Conv2d(width(l - 1), width(l), 3, 2, 1) for l in range(1, depth + 1))
        ups = []
        for l in reversed(range(depth)):
            below = width(depth) if l + 1 == depth else width(max(l + 1, 1))
            kernel = edge if l == 0 else 3
            ups.append(nn.Conv2d(below + width(l), width(max(l, 1)), kernel, 1, kernel // 2))
        self.up = nn.ModuleList(ups)
        self.head = nn.Conv2d(width(1), cout, edge, 1, edge // 2)

    def forward(self, x):
        levels = [x]
        for conv in self.down:
            levels.append(F.leaky_relu(conv(levels[-1]), 0.2))
        y = levels.pop()
        for conv, skip in zip(self.up, reversed(levels)):
            y = F.interpolate(y, size=skip.shape[2:], mode="nearest")
            y = F.leaky_relu(conv(torch.cat([y, skip], 1)), 0.2)
        return self.head(y)


class Posewarp(nn.Module):
    def __init__(self, preset):
        super().__init__()
        (m, f, b), self.scale, refine = PRESETS[preset]
        self.mask = UNet(*m, 3 + POSE, LIMBS + 1)
        self.foreground = UNet(*f, 4 * LIMBS + POSE, 4)
        self.background = UNet(*b, 7, 3)
        self.refine = (nn.Sequential(nn.Conv2d(8, refine, 3, 1, 1), nn.LeakyReLU(0.2),
                                     nn.Conv2d(refine, 4, 3, 1, 1)) if refine else None)

    def prepare(self, image, pose, plate):
        limbs = pose[:, JOINTS:JOINTS + LIMBS]
        room = (1 - limbs.amax(1, keepdim=True)).clamp(0, 1)
        logits = torch.log(torch.cat([limbs, room], 1) + EPS) + self.mask(torch.cat([image, pose], 1))
        masks = logits.float().softmax(1)
        limb_masks, room = masks[:, :LIMBS].unsqueeze(2), masks[:, LIMBS:]
        layers = torch.cat([image.float().unsqueeze(1) * limb_masks, limb_masks], 2)
        around = torch.cat([image * room, room, plate.float()], 1).to(image.dtype)
        return layers, (plate + self.background(around)).float()

    def render(self, layers, fill, theta, pose):
        """Warps and blend in f32, the foreground U-Net in the pose's dtype, as ours."""
        n, l, c, h, w = layers.shape
        grids = F.affine_grid(theta, [l, 1, h, w], align_corners=False)
        moved = F.grid_sample(layers.reshape(n * l, c, h, w), grids.reshape(n * l, h, w, 2),
                              mode="bilinear", padding_mode="zeros", align_corners=False)
        moved = moved.reshape(n, l, c, h, w)
        colour, weight = moved[:, :, :3], moved[:, :, 3:]
        total = weight.sum(1)
        person = colour.sum(1) / total.clamp_min(EPS)
        coverage = total.clamp(EPS, 1 - EPS)
        x = torch.cat([colour.reshape(n, l * 3, h, w), weight.reshape(n, l, h, w), pose.float()], 1)
        if self.scale > 1:
            x = F.avg_pool2d(x, self.scale)
        correction = self.foreground(x.to(pose.dtype)).float()
        if self.scale > 1:
            correction = F.interpolate(correction, size=(h, w), mode="bilinear", align_corners=False)
        if self.refine is not None:
            edges = torch.cat([person, coverage, correction], 1).to(pose.dtype)
            correction = correction + self.refine(edges).float()
        alpha = torch.sigmoid(torch.logit(coverage) + correction[:, 3:])
        return (alpha * (person + correction[:, :3]) + (1 - alpha) * fill).clamp(-1, 1)


def main():
    print(torch.cuda.get_device_name(0), torch.__version__)
    torch.manual_seed(0)
    for preset in PRESETS:
        model = Posewarp(preset).cuda().eval().to(torch.bfloat16)
        for size in (256,) if preset == "lite" else (256, 512):
            bf = dict(device="cuda", dtype=torch.bfloat16)
            image, plate = torch.rand(1, 3, size, size, **bf) * 2 - 1, torch.rand(1, 3, size, size, **bf) * 2 - 1
            pose = torch.rand(1, POSE, size, size, **bf)
            # Ten similarity transforms near the identity, made on the host per frame.
            host = torch.eye(2, 3).repeat(LIMBS, 1, 1) * 0.9 + torch.randn(LIMBS, 2, 3) * 0.05
            with torch.no_grad():
                layers, fill = model.prepare(image, pose, plate)

                def frame():
                    return model.render(layers, fill, host.cuda(), pose)

                eager = timed(frame)
                prepare = timed(lambda: model.prepare(image, pose, plate))
                theta = host.cuda()
                graph = captured(lambda: model.render(layers, fill, theta, pose))

                def replay():
                    theta.copy_(host, non_blocking=False)
                    graph.replay()

                replayed = timed(replay)
            print(f"pytorch posewarp/{preset} {size}x{size}: frame eager {eager:.3f} ms, "
                  f"frame cuda graph {replayed:.3f} ms, prepare eager {prepare:.3f} ms")


if __name__ == "__main__":
    main()
