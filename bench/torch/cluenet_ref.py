#!/usr/bin/python3
"""
A PyTorch transcription of the official CLUENet (github 52KunKun/CLUENet, models/CLUENet.py, the
"CLUA" code) and of Context Clusters (github ma-xu/Context-Cluster, models/context_cluster.py),
written for cluelab's equivalence tests and speed benchmarks. Module and parameter names follow the
official code exactly, so `state_dict()` keys and shapes are the official ones.

What differs from the official files, and why:
- attention is exact fp32 (softmax(q·kᵀ)·v); the official code calls flash-attn in fp16, a GPU
  speed device whose rounding is not the model's math;
- torch_scatter's scatter_sum is the same sum written as a one-hot matrix product;
- timm/einops are not needed: DropPath, trunc_normal_ and the rearranges are written out.
- ablation switches (cluelab's `overrides`) are added; with the defaults every module computes
  what the official one does.

Run with Debian's interpreter (/usr/bin/python3, python3-torch 1.13, CPU):
  cluenet_ref.py count NAME [--num-classes K] [--overrides JSON]
  cluenet_ref.py fixtures < specs.json     (writes weights/io/grads safetensors per spec)
  cluenet_ref.py check < specs.json        (runs state_dicts written by cluelab)
  cluenet_ref.py bench --name NAME [--num-classes K] [--train-batch 64] [--infer-batch 256] [--steps N]
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------
# configs: the official functions' hyper-parameters, in cluelab's vocabulary (lib/cluenet/configs.ts)

def _cluenet(**kw):
    base = dict(
        family="cluenet", inChannels=3, inputSize=[224, 224], padTo=None,
        stem=dict(kernel=4, stride=4, pad=0), dims=[32, 64, 160, 256], depths=[2, 2, 2, 2],
        heads=[1, 2, 5, 8], headDims=[32, 32, 32, 32], mlpRatios=[8, 8, 4, 4],
        clusters=[[7, 7]] * 4, folds=[1, 1, 1, 1], dropPathRate=0.1, minAlpha=1e-4,
        mixer="cluenet", aggregation="global-soft", gate=True, shareAssignment=True,
        learnableTemperature=True, temperature=2.13, pool="icp", poolNorm2=False,
    )
    base.update(kw)
    return base


CONFIGS = {
    "CLUE_nano_FMNIST": _cluenet(
        inChannels=1, inputSize=[28, 28], padTo=[32, 32], stem=dict(kernel=3, stride=1, pad=1),
        depths=[1, 2, 1, 1], dims=[16, 32, 64, 128], heads=[1, 2, 4, 8], headDims=[16] * 4,
        mlpRatios=[4, 4, 4, 4], clusters=[[4, 4]] * 4, poolNorm2=True),
    "CLUE_mini_CIFAR": _cluenet(
        inputSize=[32, 32], stem=dict(kernel=3, stride=1, pad=1), clusters=[[4, 4]] * 4, poolNorm2=True),
    "CLUE_mini": _cluenet(poolNorm2=True),
    "CLUE_tiny": _cluenet(depths=[3, 4, 5, 2], dims=[32, 64, 196, 320], heads=[4, 4, 8, 8], headDims=[24] * 4),
    "CLUE_small": _cluenet(depths=[2, 2, 6, 2], dims=[64, 128, 320, 512], heads=[4, 4, 8, 8], dropPathRate=0.3),
    "CLUE_base": _cluenet(depths=[4, 4, 12, 4], dims=[64, 128, 320, 512], heads=[6, 6, 12, 12], dropPathRate=0.3),
    # Context Clusters' CIFAR model (coc_mini_cifar in the CLUENet repository's baselines)
    "CoC_mini_CIFAR": dict(
        family="coc", inChannels=3, inputSize=[32, 32], padTo=None, stem=dict(kernel=3, stride=1, pad=1),
        dims=[32, 64, 160, 256], depths=[2, 2, 2, 2], heads=[1, 2, 5, 8], headDims=[32] * 4,
        mlpRatios=[8, 8, 4, 4], clusters=[[16, 16], [8, 8], [4, 4], [2, 2]], folds=[8, 4, 2, 1],
        dropPathRate=0.1, layerScale=1e-5, mixer="coc", pool="conv"),
}


def resolve(name, overrides=None):
    if name not in CONFIGS:
        raise SystemExit(f"unknown config {name}; known: {', '.join(CONFIGS)}")
    cfg = json.loads(json.dumps(CONFIGS[name]))
    for key, value in (overrides or {}).items():
        if key not in cfg and key not in ("numClasses",):
            raise SystemExit(f"unknown override {key}")
        cfg[key] = value
    return cfg


# ----------------------------------------------------------------------------------------------
# building blocks

class LayerNorm(nn.LayerNorm):
    """LayerNorm over channels of a [B, C, H, W] map (the official `LayerNorm`)."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class GroupNorm(nn.GroupNorm):
    """GroupNorm with one group (Context Clusters' `GroupNorm`)."""

    def __init__(self, num_channels):
        super().__init__(1, num_channels)


class DropPath(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask.div_(keep)


def pairwise_cos_sim(x1, x2, x1_norm=False, x2_norm=False):
    if not x1_norm:
        x1 = F.normalize(x1, dim=-1)
    if not x2_norm:
        x2 = F.normalize(x2, dim=-1)
    return torch.matmul(x1, x2.transpose(-2, -1))


def hard_mask(sim, region=None):
    """One-hot of argmax over dim 1 (centers) of [B, M, N]; `region` [M, N] limits each pixel to
    the centers of its fold region (what Context Clusters' fold rearrange does)."""
    scores = sim if region is None else sim.masked_fill(~region, -1.0)
    _, idx = scores.max(dim=1, keepdim=True)
    mask = torch.zeros_like(sim)
    mask.scatter_(1, idx, 1.0)
    return mask, idx.squeeze(1)


def fold_pool_matrix(size, out, folds):
    """[out, size]: per-fold adaptive average pooling along one axis (folds=1: adaptive pooling)."""
    assert size % folds == 0 and out % folds == 0, (size, out, folds)
    seg, per = size // folds, out // folds
    P = torch.zeros(out, size)
    for f in range(folds):
        for i in range(per):
            a = (i * seg) // per
            b = -((-(i + 1) * seg) // per)
            P[f * per + i, f * seg + a:f * seg + b] = 1.0 / (b - a)
    return P


def fold_pool(x, out_hw, folds):
    """x [B, C, H, W] -> [B, C, oh, ow], adaptive average pooling inside each of folds×folds regions."""
    B, C, H, W = x.shape
    if folds == 1:
        return F.adaptive_avg_pool2d(x, out_hw)
    Ph = fold_pool_matrix(H, out_hw[0], folds).to(x)
    Pw = fold_pool_matrix(W, out_hw[1], folds).to(x)
    return torch.einsum("ih,bchw,jw->bcij", Ph, x, Pw)


def fold_region(H, W, ch, cw, folds):
    """[M, N] bool: center m and pixel n lie in the same fold region."""
    cy = torch.arange(ch).repeat_interleave(cw) // (ch // folds)
    cx = torch.arange(cw).repeat(ch) // (cw // folds)
    py = torch.arange(H).repeat_interleave(W) // (H // folds)
    px = torch.arange(W).repeat(H) // (W // folds)
    return (cy[:, None] == py[None, :]) & (cx[:, None] == px[None, :])


class PatchEmbed(nn.Module):
    def __init__(self, patch_size, stride, padding, in_chans, embed_dim, norm=True):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=stride, padding=padding)
        if norm:
            self.norm = LayerNorm(embed_dim)

    def forward(self, x):
        x = self.proj(x)
        return self.norm(x) if hasattr(self, "norm") else x


class PosCNN(nn.Module):
    def __init__(self, embed_dim):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(embed_dim, embed_dim, 3, 1, 1, bias=True, groups=embed_dim))

    def forward(self, x):
        return self.proj(x) + x


class GroupLinear(nn.Module):
    def __init__(self, in_features, out_features, num_groups):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_groups, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(num_groups, out_features))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        nn.init.zeros_(self.bias)

    def forward(self, x):  # [B, N, G, Cin] -> [B, N, G, Cout]
        return torch.einsum("bngc,goc->bngo", x, self.weight) + self.bias[None, None]


class MultiHeadGate(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.fc1 = GroupLinear(2 * dim, dim // 2, num_heads)
        self.act = nn.GELU()
        self.fc2 = GroupLinear(dim // 2, 1, num_heads)

    def forward(self, cluster_centers, centers_feature):
        fused = torch.cat([cluster_centers, centers_feature], dim=-1)
        return torch.sigmoid(self.fc2(self.act(self.fc1(fused))))


def heads_seq(t, hd):
    """'b (hd c) h w -> b (h w) hd c'"""
    B, C, H, W = t.shape
    return t.reshape(B, hd, C // hd, H * W).permute(0, 3, 1, 2)


class Cluster(nn.Module):
    """The official CLUENet token mixer, plus the ablation switches."""

    def __init__(self, dim, out_dim, cluster_w, cluster_h, heads, head_dim, sim_share, min_alpha,
                 cfg, stage_folds):
        super().__init__()
        self.num_heads, self.head_dim, self.ch, self.cw = heads, head_dim, cluster_h, cluster_w
        self.sim_share = sim_share
        self.aggregation, self.use_gate = cfg["aggregation"], cfg["gate"]
        self.folds = stage_folds
        D = heads * head_dim
        if not sim_share:
            self.q = nn.Linear(D, D)
        self.k = nn.Conv2d(dim, D, 1, 1, 0)
        self.v = nn.Conv2d(dim, D, 1, 1, 0)
        self.proj = nn.Conv2d(D, out_dim, 1, 1, 0)
        if self.use_gate:
            self.gate = MultiHeadGate(head_dim, heads)
        if self.aggregation == "global-soft":
            if cfg["learnableTemperature"]:
                self.attn_alpha = nn.Parameter(torch.tensor(math.log(cfg["temperature"])))
            else:
                self.register_buffer("attn_alpha", torch.tensor(math.log(cfg["temperature"])), persistent=False)
        else:
            self.agg_alpha = nn.Parameter(torch.ones(1))
            self.agg_beta = nn.Parameter(torch.zeros(1))
        self.min_alpha = min_alpha
        if not sim_share:
            self.sim_alpha = nn.Parameter(torch.ones(1))
            self.sim_beta = nn.Parameter(torch.zeros(1))

    def forward(self, x, sim=None):
        b, c, h, w = x.shape
        hd, d = self.num_heads, self.head_dim
        M, N = self.ch * self.cw, h * w
        K = self.k(x)
        K_centers = fold_pool(K, (self.ch, self.cw), self.folds)
        feature = self.v(x)
        centers_feature = fold_pool(feature, (self.ch, self.cw), self.folds)
        K = heads_seq(K, hd)
        K_centers = heads_seq(K_centers, hd)
        feature = heads_seq(feature, hd)
        K_norm = F.normalize(K, dim=-1)
        centers_feature = heads_seq(centers_feature, hd)
        if self.aggregation == "global-soft":
            min_alpha = torch.log(torch.tensor(self.min_alpha, dtype=self.attn_alpha.dtype))
            alpha = torch.clamp(self.attn_alpha, min=min_alpha)
            scale = 1 / alpha.exp()
            Kc = F.normalize(K_centers, dim=-1) * scale
            # exact fp32 attention where the official code calls flash_attn_func(Kc, K_norm, feature, softmax_scale=1)
            attn = torch.softmax(Kc.transpose(1, 2) @ K_norm.transpose(1, 2).transpose(-1, -2), dim=-1)
            cluster_centers = (attn @ feature.transpose(1, 2)).transpose(1, 2)  # [b, M, hd, d]
        else:
            # Context Clusters' aggregation: hard assignment to pooled proposals inside fold regions
            kc = K_centers.permute(0, 2, 1, 3).reshape(b * hd, M, d)
            kn = K_norm.permute(0, 2, 1, 3).reshape(b * hd, N, d)
            s = torch.sigmoid(self.agg_beta + self.agg_alpha * pairwise_cos_sim(kc, kn, x2_norm=True))
            mask, _ = hard_mask(s, fold_region(h, w, self.ch, self.cw, self.folds) if self.folds > 1 else None)
            s = s * mask
            v2 = feature.permute(0, 2, 1, 3).reshape(b * hd, N, d)
            vc = centers_feature.permute(0, 2, 1, 3).reshape(b * hd, M, d)
            agg = (s @ v2 + vc) / (s.sum(dim=-1, keepdim=True) + 1.0)
            cluster_centers = agg.reshape(b, hd, M, d).permute(0, 2, 1, 3)
        if self.use_gate:
            gate = self.gate(cluster_centers, centers_feature)
            cluster_centers = (1 - gate) * cluster_centers + gate * centers_feature
        cluster_centers = cluster_centers.permute(0, 2, 1, 3).reshape(b * hd, M, d)  # 'b n hd d -> (b hd) n d'
        if sim is None or not self.sim_share:
            Q = self.q(cluster_centers.reshape(b, hd, M, d).permute(0, 2, 1, 3).reshape(b, M, hd * d))
            Q = Q.reshape(b, M, hd, d).permute(0, 2, 1, 3).reshape(b * hd, M, d)
            Kn = K_norm.permute(0, 2, 1, 3).reshape(b * hd, N, d)
            sim = torch.sigmoid(self.sim_beta + self.sim_alpha * pairwise_cos_sim(Q, Kn, x1_norm=False, x2_norm=True))
            mask, _ = hard_mask(sim)
            sim = sim * mask
        out = sim.transpose(-1, -2) @ cluster_centers  # [(b hd), N, d]
        out = out.reshape(b, hd, h, w, d).permute(0, 1, 4, 2, 3).reshape(b, hd * d, h, w)
        return self.proj(out), sim


class CocCluster(nn.Module):
    """Context Clusters' token mixer (ma-xu/Context-Cluster `Cluster`), written with the fold
    regions as a mask over the global grid of (folds·proposals)² centers instead of a rearrange:
    the same sums."""

    def __init__(self, dim, out_dim, cluster_h, cluster_w, folds, heads, head_dim):
        super().__init__()
        self.heads, self.head_dim, self.ch, self.cw, self.folds = heads, head_dim, cluster_h, cluster_w, folds
        self.f = nn.Conv2d(dim, heads * head_dim, kernel_size=1)
        self.proj = nn.Conv2d(heads * head_dim, out_dim, kernel_size=1)
        self.v = nn.Conv2d(dim, heads * head_dim, kernel_size=1)
        self.sim_alpha = nn.Parameter(torch.ones(1))
        self.sim_beta = nn.Parameter(torch.zeros(1))

    def forward(self, x, sim=None):
        B, _, H, W = x.shape
        e, d = self.heads, self.head_dim
        value = self.v(x).reshape(B * e, d, H, W)
        x = self.f(x).reshape(B * e, d, H, W)
        centers = fold_pool(x, (self.ch, self.cw), self.folds)
        value_centers = fold_pool(value, (self.ch, self.cw), self.folds).flatten(2).transpose(1, 2)
        sim = torch.sigmoid(self.sim_beta + self.sim_alpha * pairwise_cos_sim(
            centers.flatten(2).transpose(1, 2), x.flatten(2).transpose(1, 2)))  # [B·e, M, N]
        mask, _ = hard_mask(sim, fold_region(H, W, self.ch, self.cw, self.folds) if self.folds > 1 else None)
        sim = sim * mask
        value2 = value.flatten(2).transpose(1, 2)
        out = (sim @ value2 + value_centers) / (sim.sum(dim=-1, keepdim=True) + 1.0)
        out = sim.transpose(1, 2) @ out  # dispatch, [B·e, N, d]
        out = out.transpose(1, 2).reshape(B, e * d, H, W)
        return self.proj(out), sim


class DWConv(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, bias=True, groups=dim)

    def forward(self, x):
        return self.dwconv(x).permute(0, 2, 3, 1)


class Mlp(nn.Module):
    """PVTv2's MLP (CLUENet); `dw=False` is Context Clusters' plain MLP."""

    def __init__(self, in_features, hidden_features, dw=True):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        if dw:
            self.dwconv = DWConv(hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x):
        x = self.fc1(x.permute(0, 2, 3, 1))
        if hasattr(self, "dwconv"):
            x = self.dwconv(x.permute(0, 3, 1, 2))
        return self.fc2(self.act(x)).permute(0, 3, 1, 2)


class ClusterBlock(nn.Module):
    def __init__(self, dim, mixer, mlp_ratio, drop_path, norm, layer_scale, dw_mlp):
        super().__init__()
        self.norm1 = norm(dim)
        self.token_mixer = mixer
        self.norm2 = norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dw=dw_mlp)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.use_layer_scale = layer_scale is not None
        if self.use_layer_scale:
            self.layer_scale_1 = nn.Parameter(layer_scale * torch.ones(dim))
            self.layer_scale_2 = nn.Parameter(layer_scale * torch.ones(dim))

    def forward(self, x, sim=None):
        y, sim = self.token_mixer(self.norm1(x), sim)
        if self.use_layer_scale:
            x = x + self.drop_path(self.layer_scale_1[:, None, None] * y)
            x = x + self.drop_path(self.layer_scale_2[:, None, None] * self.mlp(self.norm2(x)))
        else:
            x = x + self.drop_path(y)
            x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x, sim


class BasicBlocks(nn.Module):
    """CLUENet's stage: the first block's assignment is passed on to the others."""

    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.Sequential(*blocks)
        self.first_sim = None

    def forward(self, x):
        sim = None
        for i, block in enumerate(self.blocks):
            x, sim = block(x, sim)
            if i == 0:
                self.first_sim = sim
        return x


class CocStage(nn.Sequential):
    """Context Clusters' stage: an nn.Sequential of blocks (names network.i.j.*)."""

    def forward(self, x):
        self.first_sim = None
        for i, block in enumerate(self):
            x, sim = block(x)
            if i == 0:
                self.first_sim = sim
        return x


class ClusterPool(nn.Module):
    """Improved Cluster Pooling (the official `ClusterPool` in CLUENet.py)."""

    def __init__(self, patch_size, stride, in_chans, embed_dim, norm2):
        super().__init__()
        self.norm1 = LayerNorm(in_chans)
        if norm2:
            self.norm2 = LayerNorm(embed_dim)
        self.stride = stride
        self.conv_f = nn.Conv2d(in_chans, in_chans, kernel_size=1)
        self.conv_v = nn.Sequential(nn.Conv2d(in_chans, in_chans, 1), nn.GELU(), nn.Conv2d(in_chans, embed_dim, 1))
        self.conv_skip = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, padding=(patch_size - 1) // 2, stride=stride)

    def forward(self, x):
        identity = self.conv_skip(x)
        value = self.conv_f(x)
        x = value
        b, c, H, W = x.shape
        centers = F.adaptive_avg_pool2d(x, (H // self.stride, W // self.stride))
        hh, ww = centers.shape[-2:]
        value_centers = centers.flatten(2).transpose(1, 2)
        sim = pairwise_cos_sim(value_centers, x.flatten(2).transpose(1, 2))  # [B, M, N]
        mask, idx = hard_mask(sim)
        self.last_idx = idx
        out = (mask @ value.flatten(2).transpose(1, 2) + value_centers) / (mask.sum(dim=-1, keepdim=True) + 1.0)
        out = out.transpose(1, 2).reshape(b, c, hh, ww)
        out = self.conv_v(self.norm1(out))
        if hasattr(self, "norm2"):
            out = self.norm2(out)
        return identity + out


class FecPool(nn.Module):
    """FEC's cluster pooling (models/ClusteringParadigm/fec.py `ClusterPool`, folds 1)."""

    def __init__(self, stride, in_chans, embed_dim):
        super().__init__()
        self.norm2 = GroupNorm(embed_dim)
        self.stride = stride
        self.conv_f = nn.Conv2d(in_chans, embed_dim, kernel_size=1)
        self.conv_v = nn.Conv2d(in_chans, embed_dim, kernel_size=1)
        self.conv_skip = nn.Conv2d(in_chans, embed_dim, kernel_size=3, padding=1, stride=2)

    def forward(self, x):
        identity = self.conv_skip(x)
        value = self.conv_v(x)
        x = self.conv_f(x)
        b, c, H, W = x.shape
        centers = F.adaptive_avg_pool2d(x, (H // self.stride, W // self.stride))
        hh, ww = centers.shape[-2:]
        value_centers = F.adaptive_avg_pool2d(value, (hh, ww)).flatten(2).transpose(1, 2)
        sim = pairwise_cos_sim(centers.flatten(2).transpose(1, 2), x.flatten(2).transpose(1, 2))
        mask, idx = hard_mask(sim)
        self.last_idx = idx
        out = (mask @ value.flatten(2).transpose(1, 2) + value_centers) / (mask.sum(dim=-1, keepdim=True) + 1.0)
        out = out.transpose(1, 2).reshape(b, c, hh, ww)
        return identity + self.norm2(out)


class PointReducer(nn.Module):
    """A strided convolution (Context Clusters' `PointRecuder`, without a norm)."""

    def __init__(self, patch_size, stride, padding, in_chans, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=stride, padding=padding)

    def forward(self, x):
        return self.proj(x)


class Net(nn.Module):
    """CLUENet (family "cluenet") or ContextCluster (family "coc") from a resolved config."""

    def __init__(self, cfg, num_classes):
        super().__init__()
        self.cfg = cfg
        coc = cfg["family"] == "coc"
        norm = GroupNorm if coc else LayerNorm
        layer_scale = cfg.get("layerScale") if coc else None
        s = cfg["stem"]
        self.patch_embed = PatchEmbed(s["kernel"], s["stride"], s["pad"], cfg["inChannels"] + 2, cfg["dims"][0], norm=not coc)
        if not coc:
            self.pos_embed = PosCNN(cfg["dims"][0])
        depths, total = cfg["depths"], sum(cfg["depths"])
        network = []
        for i, depth in enumerate(depths):
            dim, (ch, cw), folds = cfg["dims"][i], cfg["clusters"][i], cfg["folds"][i]
            blocks = []
            for j in range(depth):
                dpr = cfg["dropPathRate"] * (j + sum(depths[:i])) / (total - 1)
                if cfg["mixer"] == "coc":
                    mixer = CocCluster(dim, dim, ch, cw, folds, cfg["heads"][i], cfg["headDims"][i])
                else:
                    share = cfg["shareAssignment"] and j > 0
                    mixer = Cluster(dim, dim, cw, ch, cfg["heads"][i], cfg["headDims"][i], share, cfg["minAlpha"], cfg, folds)
                blocks.append(ClusterBlock(dim, mixer, cfg["mlpRatios"][i], dpr, norm, layer_scale, dw_mlp=not coc))
            network.append(CocStage(*blocks) if coc else BasicBlocks(blocks))
            if i == len(depths) - 1:
                break
            nxt = cfg["dims"][i + 1]
            if cfg["pool"] == "icp":
                network.append(ClusterPool(3, 2, dim, nxt, cfg["poolNorm2"]))
            elif cfg["pool"] == "fec":
                network.append(FecPool(2, dim, nxt))
            else:
                network.append(PointReducer(3, 2, 1, dim, nxt))
        self.network = nn.ModuleList(network)
        self.norm = norm(cfg["dims"][-1])
        self.head = nn.Linear(cfg["dims"][-1], num_classes)
        self.apply(self._init_coc if coc else self._init_cluenet)

    @staticmethod
    def _init_cluenet(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.LayerNorm, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            m.weight.data.normal_(0, math.sqrt(2.0 / fan_out))
            m.bias.data.zero_()

    @staticmethod
    def _init_coc(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def forward(self, x):
        pad = self.cfg.get("padTo")
        if pad is not None and (x.shape[2] < pad[0] or x.shape[3] < pad[1]):
            dh, dw = max(pad[0] - x.shape[2], 0), max(pad[1] - x.shape[3], 0)
            x = F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
        _, _, H, W = x.shape
        rh = torch.arange(0, H, step=1) / (H - 1.0)
        rw = torch.arange(0, W, step=1) / (W - 1.0)
        pos = torch.stack(torch.meshgrid(rh, rw, indexing="ij"), dim=-1).float() - 0.5
        pos = pos.permute(2, 0, 1).unsqueeze(0).expand(x.shape[0], -1, -1, -1)
        x = self.patch_embed(torch.cat([x, pos], dim=1))
        if hasattr(self, "pos_embed"):
            x = self.pos_embed(x)
        for block in self.network:
            x = block(x)
        x = self.norm(x)
        return self.head(x.mean([-2, -1]))


def build(name, num_classes, overrides=None):
    cfg = resolve(name, overrides)
    return Net(cfg, num_classes)


def count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ----------------------------------------------------------------------------------------------
# safetensors, by hand (format: 8-byte little-endian header length, JSON header, raw data)

DTYPES = {torch.float32: "F32", torch.int64: "I64", torch.int32: "I32"}


def save_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


NP_DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "F16": "<f2"}


def load_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=NP_DTYPES[e["dtype"]]).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, header.get("__metadata__", {})


# ----------------------------------------------------------------------------------------------
# fixtures

def perturb(model, gen):
    """Moves every parameter off its initial value (LayerNorm gains, biases, temperatures, the
    assignment's alpha/beta, layer scales) so that the equivalence test exercises all of them."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            noise = torch.randn(p.shape, generator=gen)
            if leaf == "attn_alpha":
                p.copy_(torch.tensor(math.log(0.05)) + 0.5 * noise)
            elif leaf in ("sim_alpha", "agg_alpha"):
                p.copy_(4.0 + noise)
            elif leaf in ("sim_beta", "agg_beta"):
                p.copy_(0.5 * noise)
            elif leaf.startswith("layer_scale"):
                p.copy_(0.3 + 0.1 * noise)
            elif name.startswith("head."):
                p.copy_(0.3 * noise)
            elif p.ndim == 1 and ("norm" in name):
                p.add_(0.2 * noise)
            elif leaf == "bias":
                p.add_(0.05 * noise)


class GapRecorder:
    """Wraps `hard_mask` to record the top-2 margin of every argmax a forward pass takes."""

    def __init__(self):
        self.gaps = []

    def __enter__(self):
        global hard_mask
        self._orig = hard_mask
        orig = hard_mask

        def recording(sim, region=None):
            scores = sim if region is None else sim.masked_fill(~region, -1.0)
            if scores.shape[1] > 1:
                top2 = scores.topk(2, dim=1).values
                self.gaps.append(float((top2[:, 0] - top2[:, 1]).min()))
            return orig(sim, region)

        hard_mask = recording
        return self

    def __exit__(self, *exc):
        global hard_mask
        hard_mask = self._orig


def fixture(spec):
    """Writes weights.safetensors (the state_dict), io.safetensors (input NHWC, logits, the
    assignments), with spec["grads"] grads.safetensors (d sum(logits·probe) / d parameter), and
    with spec["pth"] checkpoint.pth (a torch.save'd training checkpoint of the same weights)."""
    cfg = resolve(spec["name"], spec.get("overrides"))
    seed, batch, min_gap = spec.get("seed", 0), spec.get("batch", 2), spec.get("minGap", 1e-7)
    torch.manual_seed(seed)
    model = Net(cfg, spec["numClasses"])
    gen = torch.Generator().manual_seed(seed + 1)
    perturb(model, gen)
    model.eval()
    H, W = cfg["inputSize"]
    # Redraw inputs whose argmax decisions include an ulp-level near-tie: there float rounding
    # alone could pick either center (exact ties are tested separately).
    for attempt in range(50):
        x = torch.randn(batch, cfg["inChannels"], H, W, generator=gen)
        with torch.no_grad(), GapRecorder() as rec:
            logits = model(x)
        if not rec.gaps or min(rec.gaps) >= min_gap:
            break
    else:
        raise SystemExit(f"{spec['name']}: no input with argmax margins >= {min_gap} in 50 draws")
    out = spec["out"]
    os.makedirs(out, exist_ok=True)
    save_safetensors(os.path.join(out, "weights.safetensors"), model.state_dict(), {"format": "pt"})
    if spec.get("pth"):
        # a training checkpoint as the official script saves it, from a DataParallel model
        checkpoint = {"model_state_dict": {f"module.{k}": v for k, v in model.state_dict().items()},
                      "train_acc_list": [0.1, 0.2]}
        torch.save(checkpoint, os.path.join(out, "checkpoint.pth"))
    io = {"input": x.permute(0, 2, 3, 1).contiguous(), "logits": logits}
    stage = 0
    for mod in model.network:
        if hasattr(mod, "first_sim"):
            sim = mod.first_sim  # [(b hd), M, N]
            io[f"stage{stage}.index"] = sim.argmax(dim=1).to(torch.int32)
            io[f"stage{stage}.weight"] = sim.max(dim=1).values
            stage += 1
    for i, m in enumerate(m for m in model.network if hasattr(m, "last_idx")):
        io[f"pool{i}.index"] = m.last_idx.to(torch.int32)
    if spec.get("grads"):
        probe = torch.randn(logits.shape, generator=gen)
        model.zero_grad()
        (model(x) * probe).sum().backward()
        io["probe"] = probe
        grads = {n: p.grad if p.grad is not None else torch.zeros_like(p) for n, p in model.named_parameters()}
        save_safetensors(os.path.join(out, "grads.safetensors"), grads)
    save_safetensors(os.path.join(out, "io.safetensors"), io)
    return {"name": spec["name"], "params": count(model), "attempts": attempt + 1,
            "minGap": min(rec.gaps) if rec.gaps else None}


def check(spec):
    """Loads a state_dict written by cluelab and its input/logits; returns the largest logit difference."""
    state, metadata = load_safetensors(spec["weights"])
    io, _ = load_safetensors(spec["io"])
    model = Net(resolve(spec["name"], spec.get("overrides")), spec["numClasses"])
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(io["input"].permute(0, 3, 1, 2).contiguous())
    return {"maxAbsDiff": float((logits - io["logits"]).abs().max()), "metadata": metadata}


# ----------------------------------------------------------------------------------------------
# speed

def bench(args):
    torch.set_num_threads(args.threads)
    cfg = resolve(args.name)
    torch.manual_seed(0)
    model = Net(cfg, args.num_classes)
    H, W = cfg["inputSize"]
    result = {"name": args.name, "threads": torch.get_num_threads(), "torch": torch.__version__}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(args.train_batch, cfg["inChannels"], H, W)
    y = torch.randint(0, args.num_classes, (args.train_batch,))
    model.train()
    times = []
    for step in range(args.steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if step > 0:
            times.append(time.perf_counter() - t0)
    times.sort()
    result["trainImagesPerSecond"] = args.train_batch / times[len(times) // 2]
    model.eval()
    x = torch.randn(args.infer_batch, cfg["inChannels"], H, W)
    times = []
    with torch.no_grad():
        for step in range(args.steps + 1):
            t0 = time.perf_counter()
            model(x)
            if step > 0:
                times.append(time.perf_counter() - t0)
    times.sort()
    result["inferImagesPerSecond"] = args.infer_batch / times[len(times) // 2]
    print(json.dumps(result))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("count", help="parameter count of a config")
    c.add_argument("name")
    c.add_argument("--num-classes", type=int, default=100)
    c.add_argument("--overrides")
    f = sub.add_parser("fixtures", help="write fixtures for a JSON list of specs (stdin): "
                       "{name, out, numClasses, batch?, seed?, overrides?, grads?, minGap?}")
    k = sub.add_parser("check", help="run cluelab-written weights on a JSON list of specs (stdin): "
                       "{name, numClasses, weights, io, overrides?}")
    b = sub.add_parser("bench", help="training and inference images/s")
    b.add_argument("--name", required=True)
    b.add_argument("--num-classes", type=int, default=100)
    b.add_argument("--train-batch", type=int, default=64)
    b.add_argument("--infer-batch", type=int, default=256)
    b.add_argument("--steps", type=int, default=5)
    b.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    if args.cmd == "count":
        model = build(args.name, args.num_classes, json.loads(args.overrides) if args.overrides else None)
        print(json.dumps({"name": args.name, "params": count(model)}))
    elif args.cmd in ("fixtures", "check"):
        torch.set_num_threads(int(os.environ.get("CLUELAB_TORCH_THREADS", "1")))
        run = fixture if args.cmd == "fixtures" else check
        print(json.dumps([run(spec) for spec in json.load(sys.stdin)]))
    else:
        bench(args)


if __name__ == "__main__":
    main()
