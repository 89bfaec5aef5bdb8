"""A real training run through ds.pytorch(shuffle=True): a small CNN on scikit-learn's 8x8
digits, stored as PNG images, reaches >= 90% held-out accuracy in a few CPU epochs."""

from __future__ import annotations

import numpy as np
import pytest

import arrowds as ads

torch = pytest.importorskip("torch")
sklearn_datasets = pytest.importorskip("sklearn.datasets")


@pytest.mark.slow
def test_small_cnn_learns_digits(tmp_path):
    digits = sklearn_datasets.load_digits()
    images = (digits.images * (255 / 16)).round().astype(np.uint8)[..., None]  # (1797, 8, 8, 1)
    order = np.random.default_rng(0).permutation(len(images))
    ds = ads.empty(str(tmp_path / "digits"))
    ds.create_tensor("images", htype="image", sample_compression="png")
    ds.create_tensor("labels", htype="class_label", class_names=[str(d) for d in range(10)])
    with ds:
        ds.extend({"images": list(images[order]), "labels": digits.target[order].astype(np.uint32)})
    assert ds.images.sample_compression == "png" and ds.images[0].numpy().shape == (8, 8, 1)
    train, test = ds[:1400], ds[1400:]

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 4 * 4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def prep(batch):
        x = batch["images"].permute(0, 3, 1, 2).float() / 255
        return x, batch["labels"].view(-1)

    loader = train.pytorch(batch_size=32, shuffle=True, seed=0, tensors=["images", "labels"])
    for _ in range(4):
        model.train()
        for batch in loader:
            x, y = prep(batch)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for batch in test.pytorch(batch_size=128, tensors=["images", "labels"]):
            x, y = prep(batch)
            correct += int((model(x).argmax(1) == y).sum())
            total += len(y)
    assert total == len(images) - 1400
    assert correct / total >= 0.9, correct / total
