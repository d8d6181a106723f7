#!/usr/bin/env bash
# The Go2 sim-to-real workflow of docs/sim2real.md on a GPU, stage by stage: bash scripts/sim2real_workflow.sh STAGE...
#   train       go2_flat with randomisation (dr) and without (nodr: only the reset pose is drawn)
#   teacher     the privileged teacher (TEACHER_ITERATIONS, default twice ITERATIONS)
#   student     the student distilled from the teacher (STUDENT_ITERATIONS, default 300)
#   sysid       a stand log recorded on the stand-in reality, sysid on it (friction, armature, motor gain and
#               latency), go2_flat retrained on the fitted spec with randomisation (sysid_dr) and without
#               (sysid_nodr: the fitted latency, nothing drawn)
#   export      every deployable run's bundle (export --deploy --bench: CPU latency on this machine)
#   robustness  the robustness sweep of $ROBUST_RUNS (default "dr nodr")
#   pack        each run's spec, final checkpoint, bundle and reports into $OUT/runs.tgz
# Runs go to $RUNS (default /tmp/s2r), figures and logs to $OUT. ITERATIONS (default 300) sets the PPO runs' length;
# NUM_ENVS (4096), EPISODES (256), SYSID_ITERATIONS (30) and DEVICE (cuda) make a small CPU rehearsal possible.
set -uo pipefail
export ISAAC_RL_WORKBENCH_TASKS=$PWD/tasks PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; RUNS=${RUNS:-/tmp/s2r}; DEVICE=${DEVICE:-cuda}; ITERATIONS=${ITERATIONS:-300}
REALITY=${REALITY:-tests/data/reality_go2.toml}
NUM_ENVS=${NUM_ENVS:-4096}; EPISODES=${EPISODES:-256}; SYSID_ITERATIONS=${SYSID_ITERATIONS:-30}
TEACHER_ITERATIONS=${TEACHER_ITERATIONS:-$((2 * ITERATIONS))}; STUDENT_ITERATIONS=${STUDENT_ITERATIONS:-300}
mkdir -p "$OUT" "$RUNS"
PY=${PY:-python3}  # the GPU machine: python3 with PYTHONPATH=/tmp/site:$PWD/exts/isaac.rl.workbench
W="$PY -m isaac.rl.workbench.frontends.cli"
# no randomisation: only the reset pose is drawn; no latency, no pushes (sensor noise stays)
NODR_EVENTS='events={start_pose={func="reset_joints_uniform", mode="reset", params={position_range=[-0.2, 0.2], velocity_range=[-0.5, 0.5]}}}'
NODR=(--set "$NODR_EVENTS" 'actions.delay_steps=[0, 0]')

train() {  # train NAME TASK ARGS...: into $RUNS/NAME, evaluated on 256 episodes
  local name=$1; shift
  rm -rf "${RUNS:?}/$name"
  $W train "$@" --device "$DEVICE" --num-envs "$NUM_ENVS" --eval-episodes "$EPISODES" --run-dir "$RUNS/$name" 2>&1 | grep -v "^it " | tail -2
  cp "$RUNS/$name/metrics.jsonl" "$OUT/$name.jsonl"
}

for stage in "$@"; do case $stage in
train)
  train dr go2_flat --max-iterations "$ITERATIONS" --seed 0
  train nodr go2_flat --max-iterations "$ITERATIONS" --seed 0 "${NODR[@]}" ;;
teacher)
  train teacher go2_flat_teacher --max-iterations "$TEACHER_ITERATIONS" --seed 0 ;;
student)
  train student go2_flat_student --max-iterations "$STUDENT_ITERATIONS" --seed 0 --set ppo.teacher_checkpoint="$RUNS/teacher" ;;
sysid)
  $PY scripts/record_stand_log.py "$REALITY" --seconds 10 --out "$OUT/stand_log.npz" --device "$DEVICE" 2>&1 | tail -1
  rm -rf "$RUNS/sysid"
  $W sysid tasks/go2_flat.toml --data "$OUT/stand_log.npz" --params joint_friction,armature,actuator_gain,latency \
    --fixed-base --num-envs "${SYSID_ENVS:-$NUM_ENVS}" --iterations "$SYSID_ITERATIONS" --device "$DEVICE" --out "$RUNS/sysid" 2>&1 | tail -8
  cp "$RUNS/sysid/sysid.json" "$RUNS/sysid/sysid.png" "$RUNS/sysid/go2_flat_sysid.toml" "$OUT/"
  train sysid_dr "$RUNS/sysid/go2_flat_sysid.toml" --max-iterations "$ITERATIONS" --seed 0
  late=$($PY -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["actions"]["delay_steps"][0])' \
    "$RUNS/sysid/go2_flat_sysid.toml")
  train sysid_nodr "$RUNS/sysid/go2_flat_sysid.toml" --max-iterations "$ITERATIONS" --seed 0 \
    --set "$NODR_EVENTS" "actions.delay_steps=[$late, $late]" ;;
export)
  for name in dr nodr sysid_dr sysid_nodr student; do
    [ -d "$RUNS/$name" ] && $W export "$RUNS/$name" --device "$DEVICE" --bench 2>&1 | tail -6
  done ;;
robustness)
  for name in ${ROBUST_RUNS:-dr nodr}; do
    $W robustness "$RUNS/$name" --device "$DEVICE" --episodes "$EPISODES" --points 7 --beyond 0.5 2>&1 | tail -3
    cp "$RUNS/$name/robustness/robustness.png" "$OUT/robustness_$name.png"
    cp "$RUNS/$name/robustness/robustness.md" "$OUT/robustness_$name.md"
  done ;;
pack)
  rm -rf /tmp/s2r_pack && mkdir -p /tmp/s2r_pack
  for run in "$RUNS"/*/; do
    name=$(basename "$run"); [ -f "$run/spec.toml" ] || continue
    mkdir -p "/tmp/s2r_pack/$name/checkpoints"
    cp "$run/spec.toml" "/tmp/s2r_pack/$name/"
    last=$(ls "$run"/checkpoints/model_*.pt 2>/dev/null | sort | tail -1); [ -n "$last" ] && cp "$last" "/tmp/s2r_pack/$name/checkpoints/"
    for part in export robustness curves.png; do [ -e "$run/$part" ] && cp -r "$run/$part" "/tmp/s2r_pack/$name/"; done
  done
  tar -C /tmp -czf "$OUT/runs.tgz" s2r_pack && ls -la "$OUT/runs.tgz" ;;
*) echo "unknown stage $stage" >&2; exit 2 ;;
esac; done
