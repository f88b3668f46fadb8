#!/usr/bin/env python3
"""The issue-6 side-by-side table from a `bench/cross_validate.sh` output folder.

    python3 bench/cv_table.py CV_DIR [--partial RUN ...]

Reads ours (CV_DIR/burn/<arch>_f<fold>[_whole]/result.json), PyTorch's
(CV_DIR/pytorch/<arch>_f<fold>.json) and the CPU time bench/cpu_monitor.sh recorded
(CV_DIR/cpu), and prints Markdown: one row per architecture and fold, then each
architecture's mean and standard deviation (population form, as `cargo xtask compare`
prints it) over the folds both sides finished.

CPU time is the sum over a run's processes of their last reading (user + system, all
threads), and per epoch that total over the epochs run (feature loading and the final
test included). A run some of whose
parts ran before the monitor was started is named with --partial (e.g. `ours_crnn-bigru_f3`
or `theirs_crnn-bigru_f3`) and printed as a lower bound (">= N"); a run with no reading
prints "-".
"""
import argparse
import glob
import json
import os
import statistics


def cpu_seconds(cv_dir, run):
    total, found = 0, False
    for path in glob.glob(os.path.join(cv_dir, "cpu", f"{run}.*")):
        with open(path) as f:
            # A reading cut short by a kill is skipped.
            readings = [line.split() for line in f if len(line.split()) == 2 and line.split()[1].isdigit()]
        if readings:
            total += int(readings[-1][1])
            found = True
    return total if found else None


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def mean_sd(values):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.pstdev(values):.3f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cv_dir")
    p.add_argument("--partial", nargs="*", default=[], help="runs whose CPU time is a lower bound")
    a = p.parse_args()
    if not os.path.isdir(os.path.join(a.cv_dir, "burn")):
        p.error(f"{a.cv_dir} has no burn/ folder: not a bench/cross_validate.sh output")

    def cpu(run, epochs=None):
        """CPU seconds, and per epoch where the whole run was monitored."""
        seconds = cpu_seconds(a.cv_dir, run)
        if seconds is None:
            return "-"
        if run in a.partial:
            return f">= {seconds:,}"
        return f"{seconds:,}" + (f" ({seconds / epochs:.0f} per epoch)" if epochs else "")

    archs = ["crnn-bigru", "crnn-bilstm", "transformer"]
    print("| architecture | fold | PyTorch track / segment (epochs) | PyTorch CPU s "
          "| ours track / segment (best / epochs) | ours CPU s |")
    print("|---|---|---|---|---|---|")
    summary = []
    for arch in archs:
        both = {"pt_track": [], "pt_seg": [], "ours_track": [], "ours_seg": []}
        for fold in range(5):
            theirs = load(os.path.join(a.cv_dir, "pytorch", f"{arch}_f{fold}.json"))
            ours = load(os.path.join(a.cv_dir, "burn", f"{arch}_f{fold}", "result.json"))
            started = (os.path.exists(os.path.join(a.cv_dir, "pytorch", f"{arch}_f{fold}.ckpt"))
                       or os.path.isdir(os.path.join(a.cv_dir, "burn", f"{arch}_f{fold}")))
            if theirs is None and ours is None and not started:
                continue
            pt = (f"{theirs['test_track_accuracy']:.3f} / {theirs['test_segment_accuracy']:.3f} "
                  f"({theirs['epochs']})" if theirs else "running")
            us = (f"{ours['test_track_accuracy']:.3f} / {ours['test_segment_accuracy']:.3f} "
                  f"({ours['best_epoch']} / {ours['epochs_run']})" if ours else "running")
            theirs_cpu = cpu(f"theirs_{arch}_f{fold}", theirs and theirs["epochs"])
            ours_cpu = cpu(f"ours_{arch}_f{fold}", ours and ours["epochs_run"])
            print(f"| {arch} | {fold} | {pt} | {theirs_cpu} | {us} | {ours_cpu} |")
            if theirs and ours:
                both["pt_track"].append(theirs["test_track_accuracy"])
                both["pt_seg"].append(theirs["test_segment_accuracy"])
                both["ours_track"].append(ours["test_track_accuracy"])
                both["ours_seg"].append(ours["test_segment_accuracy"])
        if both["pt_track"]:
            summary.append((arch, both))
    print()
    print("Over the folds both sides finished (mean ± standard deviation over folds, population form, as `cargo xtask compare`):")
    print()
    print("| architecture | folds | PyTorch track | ours track | difference | PyTorch segment | ours segment |")
    print("|---|---|---|---|---|---|---|")
    for arch, both in summary:
        difference = statistics.mean(both["ours_track"]) - statistics.mean(both["pt_track"])
        print(f"| {arch} | {len(both['pt_track'])} | {mean_sd(both['pt_track'])} | {mean_sd(both['ours_track'])} "
              f"| {100 * difference:+.1f} points | {mean_sd(both['pt_seg'])} | {mean_sd(both['ours_seg'])} |")
    whole = sorted(glob.glob(os.path.join(a.cv_dir, "burn", "*_whole", "result.json")))
    if whole:
        print()
        print("Trained on whole clips (`train --whole-track`), tested on the first 30 s:")
        print()
        print("| run | track / segment (best / epochs) | CPU s | same fold, first 30 s only |")
        print("|---|---|---|---|")
        for path in whole:
            run = os.path.basename(os.path.dirname(path))
            r = load(path)
            plain = load(os.path.join(a.cv_dir, "burn", run[: -len("_whole")], "result.json"))
            reference = (f"{plain['test_track_accuracy']:.3f} / {plain['test_segment_accuracy']:.3f}"
                         if plain else "-")
            print(f"| {run} | {r['test_track_accuracy']:.3f} / {r['test_segment_accuracy']:.3f} "
                  f"({r['best_epoch']} / {r['epochs_run']}) | {cpu('ours_' + run, r['epochs_run'])} | {reference} |")


if __name__ == "__main__":
    main()
