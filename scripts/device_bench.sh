#!/usr/bin/env bash
# Runs on the GPU machine once the payload is staged (../shared/device/README.md): throughput benchmarks and timed
# training runs, results in $OUT. Usage: bash scripts/device_bench.sh SECTION...
# Sections: cartpole cartpole_bench cartpole_train learner ant ant_train scaling startup robots go2_dc profile
#           graphed_tests learner_bench learner_seeds scaling_all curriculum_bench curriculum_reach curriculum_go2
#           curriculum_nav go2_base validate gym eval_cost sweep rough_smoke go2_profile go2_rough g1_flat g1_rough
#           terrain_contacts dist_shared cameras camera_rest camera_nav
set -uo pipefail
export PYTHONPATH=/tmp/site:/tmp/extra:$PWD/exts/isaac.rl.workbench ISAAC_RL_WORKBENCH_TASKS=$PWD/tasks PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"

time_to() {  # time_to RUN_DIR THRESHOLD_KEY THRESHOLD: first iteration reaching it, and the training seconds then
  python3 - "$@" <<'PY'
import json, statistics, sys
run, key, threshold = sys.argv[1], sys.argv[2], float(sys.argv[3])
rows = [json.loads(l) for l in open(f"{run}/metrics.jsonl")]
hit = [r for r in rows if (r.get(key) or -1e9) >= threshold]
print(f"{run}: {key} >= {threshold} at iteration {hit[0]['iteration']} after {hit[0]['train_seconds']:.2f} s of training"
      if hit else f"{run}: {key} never reached {threshold}")
print(f"{run}: median training env-steps/s {statistics.median(r['env_steps_per_s'] for r in rows[3:]):.0f}")
PY
}

returns() {  # returns RUN_DIR: mean return and episode length at the first whole episodes and at the end
  python3 - "$@" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(f"{sys.argv[1]}/metrics.jsonl")]
rows = [r for r in rows if "mean_reward" in r]
for r in (rows[0], rows[len(rows) // 2], rows[-1]):
    print(f"{sys.argv[1]}: iteration {r['iteration']}: mean return {r['mean_reward']:.2f}, episode length "
          f"{r.get('mean_episode_length', float('nan')):.0f}, {r['train_seconds']:.1f} s of training")
PY
}

train() {  # train NAME TASK ARGS...: a timed training run into /tmp/NAME; its output appended to $OUT/train.log and
           # its metrics copied to $OUT/NAME.jsonl every 20 s, so a call cut at its time limit still brings them back
           # (a call brings back 8 files at most: gpu.txt, train.log and 6 runs' metrics)
  local name=$1; shift
  (while sleep 20; do cp /tmp/$name/metrics.jsonl "$OUT/$name.jsonl" 2>/dev/null; done) & local copier=$!
  echo "== $name: train $*" >> "$OUT/train.log"
  python3 -m isaac.rl.workbench.frontends.cli train "$@" --device cuda --run-dir /tmp/$name 2>&1 \
    | grep --line-buffered -v "^Module \|^Warp " | tee -a "$OUT/train.log" > /tmp/$name.log
  kill $copier 2>/dev/null
  grep -v "^it " /tmp/$name.log | tail -3
  cp /tmp/$name/metrics.jsonl "$OUT/$name.jsonl"
}

for section in "$@"; do case $section in
cartpole_bench)
  python3 scripts/bench.py cartpole --device cuda --num-envs 4096 --steps 500 --iterations 20 --out "$OUT/bench_cartpole.json" 2>&1 | tail -1
  ;;
cartpole)
  python3 scripts/bench.py cartpole --device cuda --num-envs 4096 --steps 500 --iterations 20 --out "$OUT/bench_cartpole.json" 2>&1 | tail -1
  for s in ppo.algorithm.num_mini_batches=2 ppo.algorithm.num_mini_batches=1; do
    python3 scripts/bench.py cartpole --device cuda --num-envs 4096 --steps 100 --iterations 20 --set $s 2>&1 | tail -1 | sed "s/^/[$s] /"
  done
  train cp_default cartpole --num-envs 4096 --max-iterations 100
  time_to /tmp/cp_default mean_episode_length 270
  train cp_mb2 cartpole --num-envs 4096 --max-iterations 100 --set ppo.algorithm.num_mini_batches=2
  time_to /tmp/cp_mb2 mean_episode_length 270
  train cp_mb1 cartpole --num-envs 4096 --max-iterations 100 --set ppo.algorithm.num_mini_batches=1
  time_to /tmp/cp_mb1 mean_episode_length 270
  ;;
learner)  # where the PPO update time goes: mini-batch count, torch.compile of the models
  for s in ppo.algorithm.num_mini_batches=1 "ppo.algorithm.num_mini_batches=1 ppo.torch_compile_mode=default" \
           "ppo.algorithm.use_mixed_precision=true"; do
    python3 scripts/bench.py cartpole --device cuda --num-envs 4096 --steps 100 --iterations 20 --set $s 2>&1 | tail -1 | sed "s/^/[$s] /"
  done
  ;;
cartpole_train)
  train cp_mb1 cartpole --num-envs 4096 --max-iterations 100 --set ppo.algorithm.num_mini_batches=1
  time_to /tmp/cp_mb1 mean_episode_length 270
  train cp_mb4 cartpole --num-envs 4096 --max-iterations 100
  time_to /tmp/cp_mb4 mean_episode_length 270
  ;;
ant)
  python3 scripts/bench.py ant --device cuda --num-envs 4096 --steps 300 --iterations 10 --out "$OUT/bench_ant.json" 2>&1 | tail -1
  ;;
ant_train)
  train ant ant --num-envs 4096 --max-iterations ${ANT_ITERATIONS:-500} --eval-episodes 256
  time_to /tmp/ant mean_root_vel_x 2.0
  ;;
scaling)
  python3 scripts/bench.py cartpole --device cuda --num-envs 1024 4096 16384 32768 --steps 300 --iterations 10 \
    --out "$OUT/scaling_cartpole.json" --plot "$OUT/scaling_cartpole.png" 2>&1 | grep "envs:" | tee "$OUT/scaling.txt"
  ;;
robots)  # the imported robots' tasks (assets/usd/robots, carried): throughput and a timed training run each at 4096 envs
  for task in ${ROBOT_TASKS:-so101_pose panda_pose go2_stand}; do
    python3 scripts/bench.py $task --device cuda --num-envs 4096 --steps 200 --iterations 10 --out "$OUT/bench_$task.json" 2>&1 | tail -1
    train $task $task --num-envs 4096 --max-iterations ${ROBOT_ITERATIONS:-100} --eval-episodes 256
    returns /tmp/$task
  done
  ;;
go2_dc)
  # Go2 on explicit DC motors (Newton's actuators inside the CUDA graph) with a 2-physics-step delay
  dc="actuators.legs.model=dc_motor actuators.legs.saturation_effort=23.5 actuators.legs.velocity_limit=30.0 actuators.legs.effort_limit=23.5 actuators.legs.delay_steps=2"
  python3 scripts/bench.py go2_stand --device cuda --num-envs 4096 --steps 200 --iterations 10 --set $dc --out "$OUT/bench_go2_dc.json" 2>&1 | tail -1
  train go2_dc go2_stand --num-envs 4096 --max-iterations ${ROBOT_ITERATIONS:-100} --eval-episodes 256 --set $dc
  returns /tmp/go2_dc
  ;;
profile)  # where one iteration's time goes, and the host-device synchronisations in it
  for task in cartpole ant; do
    python3 scripts/bench.py $task --profile --device cuda --num-envs 4096 --iterations 10 --out "$OUT/profile_$task.json" 2>&1 \
      | grep -v "^Module\|^Warp\|CUDA Toolkit\|Devices\|\"c[pu][ud]a*\|Kernel cache\|/root/.cache"
  done
  ;;
graphed_tests)  # the graphed PPO learner's CUDA tests: captured updates against rsl-rl's, precisions, no syncs
  python3 -m pytest -q -p no:cacheprovider tests/learn/test_graphed_ppo.py 2>&1 | tail -15
  ;;
learner_bench)  # training throughput at 4096 envs beside raw Newton and the env: the graphed learner, then rsl-rl's PPO
  for task in ${LEARNER_TASKS:-cartpole ant}; do for learner in graphed rsl_rl; do
    python3 scripts/bench.py $task --device cuda --num-envs 4096 --steps 300 --iterations 20 --set ppo.learner=$learner \
      --out "$OUT/bench_${task}_$learner.json" 2>&1 | tail -1 | sed "s/^/[$learner] /"
  done; done
  ;;
learner_seeds)  # learning curves over 3 seeds: the graphed learner in fp32, bf16 and fp16, and rsl-rl's PPO (4096 envs)
  python3 scripts/compare_learners.py cartpole --device cuda --num-envs 4096 --iterations 100 --seeds 1 2 3 \
    --configs ${CARTPOLE_CONFIGS:-graphed:fp32 graphed:bf16 graphed:fp16 rsl_rl:fp32} --threshold mean_episode_length=270 \
    --out "$OUT/learners_cartpole.json" --plot "$OUT/learners_cartpole.png" 2>&1 | grep "^cartpole"
  python3 scripts/compare_learners.py ant --device cuda --num-envs 4096 --iterations ${ANT_ITERATIONS:-150} --seeds 1 2 3 \
    --configs ${ANT_CONFIGS:-graphed:fp32 graphed:bf16 graphed:fp16 rsl_rl:fp32} --threshold mean_root_vel_x=2.0 \
    --eval-episodes 64 --out "$OUT/learners_ant.json" --plot "$OUT/learners_ant.png" 2>&1 | grep "^ant"
  ;;
scaling_all)  # training throughput and GPU memory from 1k to 64k envs (the graphed learner)
  for task in cartpole ant; do
    python3 scripts/bench.py $task --device cuda --num-envs ${SCALING_ENVS:-1024 4096 16384 65536} --steps 200 --iterations 10 \
      --out "$OUT/scaling_$task.json" --plot "$OUT/scaling_$task.png" 2>&1 | grep "envs:"
  done
  [ -d assets/usd/robots/go2 ] && python3 scripts/bench.py go2_stand --device cuda --num-envs ${GO2_ENVS:-1024 4096 16384} \
    --steps 200 --iterations 10 --out "$OUT/scaling_go2_stand.json" 2>&1 | grep "envs:"
  ;;
startup)  # command to first iteration, with warp's kernel cache cold, then warm; then the warm start-up's phases, twice
  for cache in cold warm; do
    [ $cache = cold ] && rm -rf /tmp/warpcache
    start=$(date +%s.%N)
    WARP_CACHE_PATH=/tmp/warpcache python3 -m isaac.rl.workbench.frontends.cli train cartpole --device cuda --num-envs 4096 \
      --max-iterations 1 --run-dir /tmp/startup_$cache --eval-episodes 1 2>&1 | while read -r line; do
        case $line in "it "*) python3 -c "import sys,time; print(f'$cache cache: first iteration {time.time()-$start:.1f} s after the command')";; esac
      done
  done
  WARP_CACHE_PATH=/tmp/warpcache python3 scripts/bench.py cartpole --startup --device cuda --num-envs 4096 4096 \
    --out "$OUT/startup_cartpole.json" 2>&1 | grep "envs on\|error"
  ;;
curriculum_bench)  # the curriculum's robot tasks: raw Newton, env and training throughput at 4096 envs
  for task in go2_flat reach_panda; do
    python3 scripts/bench.py $task --device cuda --num-envs 4096 --steps 200 --iterations 10 --out "$OUT/bench_$task.json" 2>&1 | tail -1
  done ;;
curriculum_reach)  # reach_panda over 3 seeds; every checkpoint (each 25 iterations) evaluated deterministically
  for seed in 1 2 3; do
    train reach_s$seed reach_panda --num-envs 4096 --max-iterations 200 --seed $seed --eval-episodes 256 --set ppo.save_interval=25
    for ckpt in /tmp/reach_s$seed/checkpoints/model_*.pt; do
      echo "seed $seed $(basename $ckpt): $(python3 -m isaac.rl.workbench.frontends.cli play /tmp/reach_s$seed --checkpoint $ckpt --episodes 256 --device cuda 2>&1 | tail -1)"
    done
  done
  python3 -m isaac.rl.workbench.frontends.cli play /tmp/reach_s1 --episodes 4 --device cuda --record "$OUT/reach_panda.usda" 2>&1 | tail -1
  cp /tmp/reach_s1/curves.png "$OUT/reach_panda_curves.png" ;;
curriculum_go2)  # go2_flat: seed 1 to 600 iterations and recorded, seeds 2 and 3 to 300; checkpoints evaluated
  train go2_s1 go2_flat --num-envs 4096 --max-iterations 600 --seed 1 --eval-episodes 256 --set ppo.save_interval=50
  python3 -m isaac.rl.workbench.frontends.cli play /tmp/go2_s1 --episodes 1 --device cuda --record "$OUT/go2_flat.usda" 2>&1 | tail -1
  cp /tmp/go2_s1/curves.png "$OUT/go2_flat_curves.png"
  for seed in 2 3; do train go2_s$seed go2_flat --num-envs 4096 --max-iterations 300 --seed $seed --eval-episodes 256 --set ppo.save_interval=50; done
  for seed in 1 2 3; do for it in 000100 000200 000300; do
    echo "seed $seed $it: $(python3 -m isaac.rl.workbench.frontends.cli play /tmp/go2_s$seed --checkpoint /tmp/go2_s$seed/checkpoints/model_$it.pt --episodes 256 --device cuda 2>&1 | tail -1)"
  done; done ;;
curriculum_nav)  # point_nav: throughput, 2 seeds with checkpoints every 50 iterations evaluated, a recording
  python3 scripts/bench.py point_nav --device cuda --num-envs 4096 --steps 200 --iterations 10 --out "$OUT/bench_point_nav.json" 2>&1 | tail -1
  for seed in 1 2; do
    train nav_s$seed point_nav --num-envs 4096 --max-iterations ${NAV_ITERATIONS:-300} --seed $seed --eval-episodes 256 --set ppo.save_interval=50
    for ckpt in /tmp/nav_s$seed/checkpoints/model_*.pt; do
      echo "seed $seed $(basename $ckpt): $(python3 -m isaac.rl.workbench.frontends.cli play /tmp/nav_s$seed --checkpoint $ckpt --episodes 256 --device cuda 2>&1 | tail -1)"
    done
  done
  python3 -m isaac.rl.workbench.frontends.cli play /tmp/nav_s1 --episodes 8 --device cuda --record "$OUT/point_nav.usda" 2>&1 | tail -1
  cp /tmp/nav_s1/curves.png "$OUT/point_nav_curves.png" ;;
validate)  # the GPU path after a change that moved code: the env-size check, throughput, a timed cart-pole, explicit
           # motors with delay inside the CUDA graph, a large measured run, the learner's CUDA tests
  python3 -m isaac.rl.workbench.frontends.cli train cartpole --device cuda --num-envs 100000000 --run-dir /tmp/big 2>&1 | tail -1
  python3 scripts/bench.py cartpole --device cuda --num-envs 4096 --steps 500 --iterations 20 --out "$OUT/bench_cartpole.json" 2>&1 | tail -1
  train cp_validate cartpole --num-envs 4096 --max-iterations 100
  time_to /tmp/cp_validate mean_episode_length 270
  python3 scripts/bench.py ant --device cuda --num-envs 4096 --steps 300 --iterations 20 2>&1 | tail -1
  [ -d assets/usd/robots/go2 ] && python3 scripts/bench.py go2_flat --device cuda --num-envs 4096 --steps 200 --iterations 10 2>&1 | tail -1
  [ -d assets/usd/robots/go2 ] && train go2_dc_validate go2_stand --num-envs 4096 --max-iterations 20 --set actuators.legs.model=dc_motor \
    actuators.legs.saturation_effort=23.5 actuators.legs.velocity_limit=30.0 actuators.legs.effort_limit=23.5 actuators.legs.delay_steps=2
  train cp_65k cartpole --num-envs 65536 --max-iterations 3 --eval-episodes 4
  python3 -m pytest -q -p no:cacheprovider tests/learn/test_graphed_ppo.py tests/envs/test_health.py 2>&1 | tail -4 ;;
go2_base)  # a go2_flat run kept for the deployment tests: final checkpoint and spec, packed small
  [ -d assets/usd/robots/go2 ] || { rm -rf assets/usd/robots; ln -sfn /tmp/robots assets/usd/robots; }
  rm -rf /tmp/go2_base
  train go2_base go2_flat --num-envs 4096 --max-iterations ${GO2_ITERATIONS:-400} --seed 0 --eval-episodes 256
  python3 -m isaac.rl.workbench.frontends.cli play /tmp/go2_base --episodes 256 --device cuda 2>&1 | tail -1
  last=$(ls /tmp/go2_base/checkpoints/model_*.pt | sort | tail -1)
  mkdir -p /tmp/go2_pack/checkpoints && cp /tmp/go2_base/spec.toml /tmp/go2_base/metrics.jsonl /tmp/go2_pack/ \
    && cp "$last" /tmp/go2_pack/checkpoints/ && cp /tmp/go2_base/curves.png /tmp/go2_pack/ 2>/dev/null
  tar -C /tmp -czf "$OUT/go2_base.tgz" go2_pack ;;
gym)  # Gymnasium's MuJoCo tasks (assets/usd/gym, carried) at 4096 envs to 10M env steps: training return and wall
      # clock at 1M and 10M steps, the 1M checkpoint evaluated deterministically; final checkpoints packed for the
      # MuJoCo cross-check (scripts/gym_crosscheck.py). GYM_TASKS picks tasks, GYM_ITERATIONS the length (80: 10.5M),
      # GYM_SET more --set overrides (PPO settings), GYM_TAG a suffix for the run names, GYM_STEPS more step counts to
      # report, GYM_PLAY=0 skips evaluating the first checkpoint.
  pack=/tmp/gym_pack${GYM_TAG:-}
  for task in ${GYM_TASKS:-half_cheetah hopper walker2d ant humanoid}; do
    start=$(date +%s.%N)
    train gym_$task${GYM_TAG:-} gym/$task --num-envs 4096 --max-iterations ${GYM_ITERATIONS:-80} --seed ${GYM_SEED:-0} \
      --eval-episodes 256 --set ppo.save_interval=8 ${GYM_SET:-}
    echo "gym_$task${GYM_TAG:-}: command wall clock $(python3 -c "import time; print(f'{time.time() - $start:.1f}')") s"
    python3 scripts/gym_steps.py /tmp/gym_$task${GYM_TAG:-} 1000000 10000000 ${GYM_STEPS:-}
    first=$(ls /tmp/gym_$task${GYM_TAG:-}/checkpoints/model_*.pt | sort | head -1)
    [ "${GYM_PLAY:-1}" = 1 ] && echo "gym_$task${GYM_TAG:-} $(basename $first): $(python3 -m isaac.rl.workbench.frontends.cli play /tmp/gym_$task${GYM_TAG:-} --checkpoint $first --episodes 256 --device cuda 2>&1 | tail -1)"
    mkdir -p $pack/$task/checkpoints && cp /tmp/gym_$task${GYM_TAG:-}/spec.toml /tmp/gym_$task${GYM_TAG:-}/metrics.jsonl $pack/$task/ \
      && cp $(ls /tmp/gym_$task${GYM_TAG:-}/checkpoints/model_*.pt | sort | tail -1) $pack/$task/checkpoints/
    tar -C /tmp -czf "$OUT/$(basename $pack)_seed${GYM_SEED:-0}.tgz" $(basename $pack)
  done ;;
eval_cost)  # evaluation during training ([train] eval_every: evaluation envs beside the training envs) against
            # none, 100 iterations each at 4096 envs: median training env-steps/s and the training seconds;
            # EVAL_TASKS ("reach_panda"), EVAL_EVERY ("50") change it
  for task in ${EVAL_TASKS:-reach_panda}; do
    n=0; for every in 0 ${EVAL_EVERY:-50} 0; do
      n=$((n + 1)); rm -rf /tmp/eval_${task}_$n
      python3 -m isaac.rl.workbench.frontends.cli train $task --device cuda --num-envs 4096 --max-iterations 100 \
        --seed 1 --run-dir /tmp/eval_${task}_$n --set train.eval_every=$every ppo.save_interval=1000 \
        > /tmp/eval_${task}_$n.log 2>&1 || { echo "$task eval_every $every failed:"; tail -5 /tmp/eval_${task}_$n.log; }
      grep -E "^evaluation:|^trained|^$task:" /tmp/eval_${task}_$n.log | tee -a "$OUT/eval_cost.txt"
      python3 - /tmp/eval_${task}_$n $every $task <<'PY' | tee -a "$OUT/eval_cost.txt"
import json, statistics, sys
rows = [r for r in map(json.loads, open(f"{sys.argv[1]}/metrics.jsonl")) if "edit" not in r]
evals = [r for r in rows if "eval/episodes" in r]
print(f"{sys.argv[3]} eval_every {sys.argv[2]}: median {statistics.median(r['env_steps_per_s'] for r in rows[3:]):.0f} "
      f"training env-steps/s, {rows[-1]['train_seconds']:.2f} s of training for {rows[-1]['iteration']} iterations; "
      + "; ".join(f"it {r['iteration']}: " + ", ".join(f"{k} {v:.3g}" for k, v in r.items()
                                                       if k.startswith(("eval/", "metric/")))
                  for r in evals))
PY
    done
  done ;;
rough_smoke)  # the rough-terrain and humanoid tasks build, capture and train 3 iterations at 256 envs
  for task in go2_rough g1_flat g1_rough; do
    python3 -m isaac.rl.workbench.frontends.cli train $task --device cuda --num-envs 256 --max-iterations 3 \
      --eval-episodes 16 --run-dir /tmp/smoke_$task 2>&1 | grep -v "^it " | tail -2
  done ;;
go2_profile)  # the Go2's env step against raw Newton (4096 envs), where one iteration's time goes, the step's kernels
  for task in ${PROFILE_TASKS:-go2_flat go2_rough}; do
    python3 scripts/bench.py $task --device cuda --num-envs 4096 --steps 300 --iterations 10 --out "$OUT/bench_$task.json" 2>&1 | tail -1
    python3 scripts/bench.py $task --profile --device cuda --num-envs 4096 --iterations 10 --out "$OUT/profile_$task.json" 2>&1 \
      | grep -v "^Module\|^Warp\|CUDA Toolkit\|Devices\|\"c[pu][ud]a*\|Kernel cache\|/root/.cache" | tail -25
    python3 scripts/step_kernels.py $task --device cuda --num-envs 4096 --steps 50 2>&1 | tee "$OUT/kernels_$task.txt" \
      | sed -n '/ eager steps profiled/,$p' | head -30
  done ;;
dist_shared)  # one rank at 4096 envs against two ranks sharing the GPU at 2048 each (gloo), cartpole and ant, seeds 1-3
              # (DIST_TASKS, DIST_SEEDS), then the all-reduce time of the shipped networks' gradient sizes
  for task in ${DIST_TASKS:-cartpole ant}; do
    for seed in ${DIST_SEEDS:-1 2 3}; do
      train ${task}_1rank_s$seed $task --num-envs 4096 --seed $seed --max-iterations 100 --eval-episodes 64
      python3 -m torch.distributed.run --standalone --nproc-per-node 2 -m isaac.rl.workbench.frontends.cli train $task \
        --device cuda:0 --num-envs 2048 --seed $seed --max-iterations 100 --eval-episodes 64 \
        --run-dir /tmp/${task}_2rank_s$seed 2>&1 | grep -v "^it " | tail -3
      cp /tmp/${task}_2rank_s$seed/metrics.jsonl "$OUT/${task}_2rank_s$seed.jsonl"
      for run in ${task}_1rank_s$seed ${task}_2rank_s$seed; do returns /tmp/$run; done
    done
  done
  python3 scripts/allreduce_time.py --device cuda:0 --backend gloo --ranks 2 --floats 2499 80281 100817 571801 2>&1 \
    | grep "^all-reduce" ;;
cameras)  # cartpole (state) against cartpole_depth and cartpole_rgb at 1024 and 4096 envs, the camera at its own 128x32
          # and at each of CAMERA_SIZES (default 64x64 128x128): raw physics, env and training throughput, memory per
          # env; then cartpole_depth trained at 4096 envs (CAMERA_ITERATIONS, default 150), time to 270 of 300
  python3 scripts/bench.py cartpole --device cuda --num-envs 1024 4096 --steps 100 --iterations 5 \
    --out "$OUT/bench_cartpole_state.json" 2>&1 | grep "envs:"
  for task in cartpole_depth cartpole_rgb; do
    for size in own ${CAMERA_SIZES:-64x64 128x128}; do
      set_size=(); [ $size = own ] || set_size=(--set sensors.side.width=${size%x*} sensors.side.height=${size#*x})
      python3 scripts/bench.py $task --device cuda --num-envs 1024 4096 --steps 100 --iterations 5 "${set_size[@]}" \
        --out "$OUT/bench_${task}_$size.json" 2>&1 | grep "envs:" | sed "s/^/[$task $size] /"
    done
  done
  train cartpole_depth cartpole_depth --num-envs 4096 --max-iterations ${CAMERA_ITERATIONS:-150} --eval-episodes 256
  time_to /tmp/cartpole_depth mean_episode_length 270 ;;
camera_rest)  # what the cameras section left: cartpole_rgb at 128x128, cartpole_depth's update under bf16 against fp32,
             # and cartpole_rgb trained at 4096 envs (CAMERA_ITERATIONS, default 150)
  python3 scripts/bench.py cartpole_rgb --device cuda --num-envs 1024 4096 --steps 100 --iterations 5 \
    --set sensors.side.width=128 sensors.side.height=128 --out "$OUT/bench_cartpole_rgb_128x128.json" 2>&1 | grep "envs:"
  python3 scripts/bench.py cartpole_depth --device cuda --num-envs 4096 --steps 100 --iterations 5 \
    --set ppo.precision=bf16 --out "$OUT/bench_cartpole_depth_bf16.json" 2>&1 | grep "envs:" | sed "s/^/[bf16] /"
  train cartpole_rgb cartpole_rgb --num-envs 4096 --max-iterations ${CAMERA_ITERATIONS:-150} --eval-episodes 256
  time_to /tmp/cartpole_rgb mean_episode_length 270 ;;
camera_nav)  # point_nav_depth against point_nav (range scan) at 4096 envs, NAV_ITERATIONS each (default 300): success
  for task in point_nav point_nav_depth; do
    train $task $task --num-envs 4096 --max-iterations ${NAV_ITERATIONS:-300} --eval-episodes 256
  done ;;
terrain_contacts)  # the Go2 at zero and random actions on the plane, a flat heightfield and go2_rough's tiles
  python3 scripts/terrain_contact_check.py cuda 4096 2>&1 | grep "^cuda" ;;
go2_rough|g1_flat|g1_rough)  # a training run of TRAIN_SECONDS (default 480) at 4096 envs, evaluated, curves, recording;
                             # RESUME=1 goes on with the run of an earlier call on the same warm machine to TRAIN_SECONDS
                             # of training in all (a 15-minute run in two calls: TRAIN_SECONDS=450, then RESUME=1 900)
  if [ "${RESUME:-0}" = 1 ]; then
    echo "== $section: train --resume /tmp/$section to ${TRAIN_SECONDS:-480} s" >> "$OUT/train.log"
    (while sleep 20; do cp /tmp/$section/metrics.jsonl "$OUT/$section.jsonl" 2>/dev/null; done) & copier=$!
    python3 -m isaac.rl.workbench.frontends.cli train --resume /tmp/$section --device cuda --eval-episodes 256 \
      --set "train.stop_when=train_seconds >= ${TRAIN_SECONDS:-480}" 2>&1 | grep --line-buffered -v "^Module \|^Warp " \
      | tee -a "$OUT/train.log" | grep -v "^it " | tail -3
    kill $copier 2>/dev/null; cp /tmp/$section/metrics.jsonl "$OUT/$section.jsonl"
  else
    train $section $section --num-envs 4096 --seed ${SEED:-1} --eval-episodes 256 \
      --set "train.stop_when=train_seconds >= ${TRAIN_SECONDS:-480}" train.eval_every=50 ppo.save_interval=100
  fi
  cp /tmp/$section/curves.png "$OUT/${section}_curves.png"
  python3 -m isaac.rl.workbench.frontends.cli play /tmp/$section --episodes 1 --device cuda --record "$OUT/$section.usda" \
    2>&1 | tail -1
  tar czf "$OUT/${section}_run.tgz" -C /tmp $section/spec.toml $section/metrics.jsonl \
    $(cd /tmp && ls $section/checkpoints/*.pt | tail -1) ;;
sweep)  # 16 trials of reach_panda at 4096 envs (learning rate, entropy coefficient), one at a time, then 4 at once on the
        # GPU: wall time, trials per hour, the most GPU memory in use and the best trial; SWEEP_PARALLEL ("1 4"),
        # SWEEP_TRIALS (16) and SWEEP_ITERATIONS (100) change it (one value of SWEEP_PARALLEL per call fits 10 minutes)
  for k in ${SWEEP_PARALLEL:-1 4}; do
    rm -rf /tmp/sweep_p$k
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 > /tmp/sweep_mem_p$k.txt & smi=$!
    start=$(date +%s.%N)
    python3 -m isaac.rl.workbench.frontends.cli sweep reach_panda --device cuda --num-envs 4096 \
      --max-iterations ${SWEEP_ITERATIONS:-100} --trials ${SWEEP_TRIALS:-16} --parallel $k --out /tmp/sweep_p$k \
      --param ppo.algorithm.learning_rate=log:1e-4:3e-3 --param ppo.algorithm.entropy_coef=log:1e-4:1e-2 2>&1 \
      | grep -v " started: " | tee "$OUT/sweep_p$k.txt" | tail -4
    kill $smi
    python3 - $k $start ${SWEEP_TRIALS:-16} /tmp/sweep_mem_p$k.txt <<'PY'
import sys, time
k, start, trials, mem = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
wall = time.time() - start
used = max((int(line) for line in open(mem) if line.strip().isdigit()), default=0)
print(f"sweep --parallel {k}: {trials} trials in {wall:.0f} s ({3600 * trials / wall:.1f} trials per hour), "
      f"GPU memory in use at most {used} MiB")
PY
    cp /tmp/sweep_p$k/results.csv "$OUT/sweep_p$k.csv"; cp /tmp/sweep_p$k/best.toml "$OUT/sweep_best_p$k.toml"
  done ;;
esac; done
