"""prefscore iterative West-of-N preference data, once a day, with spark-submit: two rounds.

Tasks (one DAG run per logical date ``ds``)::

    west_of_n_round_1 >> west_of_n_round_1_manifest >> train_reward_model_round_1
        >> west_of_n_round_2 >> west_of_n_round_2_manifest >> score_pairs >> score_pairs_manifest

``west_of_n_round_1``
    ``SparkSubmitOperator`` submitting the prefscore application jar::

        west-of-n --config <prefscore_config>
                  --set run.id=west-of-n-r1-<ds_nodash>
                  --set run.round=1
                  --set input.path=<prefscore_input_root>/dt=<ds>
                  --set mix.base-preferences=<prefscore_base_preferences>
                  --set output.path=<prefscore_output_path>
                  --set spark.master=

    The base preference model is the config's (``models.reward``, ``models.judge`` or
    ``models.pairwise-classifier``). The job writes ``<output.path>/<run.id>/`` (tables
    ``candidates``, ``pairs``, ``pairs_conversational``, ``filtered``, ``rejects``, and the
    student's training data ``mix``, ``mix_conversational``: a seeded 1:1 mix of the base
    preferences and the West-of-N pairs; ``base_rejects``), then ``manifest.json`` and
    ``_SUCCESS`` last. Every row carries ``round`` = 1.
``west_of_n_round_1_manifest``
    Returns ``<output.path>/west-of-n-r1-<ds_nodash>/manifest.json``; Airflow pushes it to XCom
    (``return_value``) for downstream DAGs and tasks.
``train_reward_model_round_1``
    The external task: trains the student reward model on round 1's mix, outside Spark. A
    ``BashOperator`` running the command in the Variable ``prefscore_reward_training_command``
    (default ``python3 -m prefscore_trl.train_reward``, python/prefscore_trl/train_reward.py: TRL's
    ``RewardTrainer``, then an ONNX export) with the arguments::

        --run <output.path>/west-of-n-r1-<ds_nodash>        (its mix and mix_conversational tables)
        --base-model <prefscore_reward_base_model>          (the model the student starts from)
        --output <prefscore_student_root>/<ds_nodash>/round-1

    The command must write a prefscore reward model directory to ``--output`` (``model.onnx``,
    ``tokenizer.json``, ``config.json``: what ``models.reward`` loads) and exit 0 only when it
    did. It needs a worker with torch, transformers, trl, datasets, onnx and onnxruntime (a GPU for
    real models); python/tests/test_train_reward.py runs it on the tiny-reward fixture.
``west_of_n_round_2``
    Round 2 with the student as the base model: as round 1 with ``run.id=west-of-n-r2-<ds_nodash>``,
    ``run.round=2``, ``models.reward=<prefscore_student_root>/<ds_nodash>/round-1`` and
    ``models.judge=``, ``models.pairwise-classifier=`` (emptied, so the student is the only
    teacher). Its ``mix`` is the data a round-2 student would be trained on.
``west_of_n_round_2_manifest``
    Like ``west_of_n_round_1_manifest`` for round 2.
``score_pairs``
    ``score-pairs`` on round 2's ``pairs`` table (ids kept with ``input.id-column=prompt_id``):
    the same log-prob terms, with ``models.policy-checkpoint`` from the Variable
    ``prefscore_policy_checkpoint`` when set (empty: reference terms only).
``score_pairs_manifest``
    Like ``west_of_n_round_1_manifest`` for ``score-pairs-<ds_nodash>``.

Why the manifest path comes from a task of its own: ``SparkSubmitOperator`` runs spark-submit
and returns nothing (the driver's stdout is not captured, and in cluster mode it is not even on
the Airflow worker), so ``do_xcom_push`` would push ``None``. The path is a pure function of the
rendered ``output.path`` and ``run.id``, which the downstream task receives through the same
templates; it only runs after the Spark task succeeded, i.e. after the job exited 0, and the job
writes ``manifest.json`` only as its last step. For a local or ``file:`` output the task also
checks that ``_SUCCESS`` exists.

Retries are safe: every ``run.id`` (and the student's folder) depends on the logical date only
(never on the try number or the wall clock), so every try of a task, and a later "Clear" of the
same date, targets the same folder; the job works in a staging folder of its own and publishes
``<output.path>/<run.id>/`` (tables, ``manifest.json``, ``_SUCCESS`` last) only when complete, so
a failed try leaves the previous complete output as it was, and a lease on the run id refuses
(exit 2) a try started while an orphaned driver still writes (docs/outputs.md). Airflow never
runs two tries of one task at once; on kill, the provider stops the driver it started. The
training command must likewise replace its ``--output`` only when done.

Airflow Variables (all optional; the defaults match ``docker/Dockerfile``):

===================================== ====================================================
``prefscore_app_jar``                 application jar (``local:///opt/prefscore/prefscore-app.jar``)
``prefscore_config``                  ``--config`` file on the driver (``/opt/prefscore/conf/cluster.properties``)
``prefscore_input_root``              prompts, one folder per day: ``<root>/dt=<ds>`` (``s3a://prefscore/prompts``)
``prefscore_output_path``             output root, ``output.path`` (``s3a://prefscore/runs``)
``prefscore_base_preferences``        ``mix.base-preferences``: the base pairs, TRL JSONL (``s3a://prefscore/base-preferences/train.jsonl``)
``prefscore_reward_training_command`` the external training command (``python3 -m prefscore_trl.train_reward``)
``prefscore_reward_base_model``       ``--base-model`` of the training command (``/opt/prefscore/models/reward-base``)
``prefscore_student_root``            where students go: ``<root>/<ds_nodash>/round-<r>`` (``s3a://prefscore/reward-models``)
``prefscore_image``                   Kubernetes container image (``prefscore:0.1.0-SNAPSHOT``)
``prefscore_executor_memory``         ``spark.executor.memory`` (``8g``)
``prefscore_policy_checkpoint``       score-pairs: ``models.policy-checkpoint`` (empty: none)
===================================== ====================================================

Connection: ``spark_default`` (the Spark master: ``k8s://https://...``, ``yarn``, ...). The
``--set spark.master=`` argument empties the job's own ``spark.master`` so the connection's
master always wins over whatever the config file says.

Requires apache-airflow-providers-apache-spark and a ``spark-submit`` (Spark 3.5) on the worker
(and, on Airflow 3, apache-airflow-providers-standard for ``BashOperator``).
See airflow/README.md.
"""
from __future__ import annotations

import os
import re
from datetime import timedelta
from urllib.parse import urlparse

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.decorators import task
try:  # Airflow 3 (apache-airflow-providers-standard)
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2.x
    from airflow.operators.bash import BashOperator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

MAIN_CLASS = "org.prefscore.job.PrefscoreJob"

APP_JAR = "{{ var.value.get('prefscore_app_jar', 'local:///opt/prefscore/prefscore-app.jar') }}"
CONFIG = "{{ var.value.get('prefscore_config', '/opt/prefscore/conf/cluster.properties') }}"
INPUT_ROOT = "{{ var.value.get('prefscore_input_root', 's3a://prefscore/prompts') }}"
OUTPUT_PATH = "{{ var.value.get('prefscore_output_path', 's3a://prefscore/runs') }}"
POLICY_CHECKPOINT = "{{ var.value.get('prefscore_policy_checkpoint', '') }}"
BASE_PREFERENCES = (
    "{{ var.value.get('prefscore_base_preferences', 's3a://prefscore/base-preferences/train.jsonl') }}"
)
TRAINING_COMMAND = (
    "{{ var.value.get('prefscore_reward_training_command', 'python3 -m prefscore_trl.train_reward') }}"
)
REWARD_BASE_MODEL = "{{ var.value.get('prefscore_reward_base_model', '/opt/prefscore/models/reward-base') }}"
STUDENT_ROOT = "{{ var.value.get('prefscore_student_root', 's3a://prefscore/reward-models') }}"

# The run ids: a function of the logical date only, so retries and reruns replace the same folder.
# (Airflow's own run_id holds ':' and '+', which run.id does not allow: letters, digits, . _ -.)
ROUNDS = (1, 2)
WEST_OF_N_RUN_IDS = {r: f"west-of-n-r{r}-" + "{{ ds_nodash }}" for r in ROUNDS}
SCORE_PAIRS_RUN_ID = "score-pairs-{{ ds_nodash }}"
# The student trained on round r's mix (the base model of round r + 1).
STUDENTS = {r: f"{STUDENT_ROOT}/" + "{{ ds_nodash }}" + f"/round-{r}" for r in ROUNDS}

# DJL must not download anything at run time (the ONNX Runtime natives come from the jar), and
# needs writable scratch space: these directories exist, writable, in the prefscore image.
DJL_JAVA_OPTS = " ".join([
    "-Dai.djl.offline=true",
    "-DOPT_OUT_TRACKING=true",
    "-Djava.io.tmpdir=/opt/prefscore/tmp",
    "-Djna.tmpdir=/opt/prefscore/tmp",
    "-DDJL_CACHE_DIR=/opt/prefscore/cache/djl",
    "-Dlog4j2.configurationFile=/opt/prefscore/conf/log4j2.properties",
])

SPARK_CONF = {
    "spark.executor.memory": "{{ var.value.get('prefscore_executor_memory', '8g') }}",
    # ONNX Runtime allocates its tensors and KV caches outside the JVM heap.
    "spark.executor.memoryOverhead": "4g",
    "spark.driver.memory": "4g",
    "spark.driver.extraJavaOptions": DJL_JAVA_OPTS,
    "spark.executor.extraJavaOptions": DJL_JAVA_OPTS,
    # Kubernetes (ignored elsewhere): driver and executors run the prefscore image.
    "spark.kubernetes.container.image": "{{ var.value.get('prefscore_image', 'prefscore:0.1.0-SNAPSHOT') }}",
}


def manifest_path(output_path: str, run_id: str) -> str:
    """``<output.path>/<run.id>/manifest.json``, spelt as Hadoop's Path spells it (RunOutput).

    Hadoop normalises repeated and trailing slashes and writes ``file:///x`` as ``file:/x``; a
    scheme-less output.path is qualified by the cluster's default file system at run time, so
    give a fully qualified one (s3a://, hdfs://, file:) for this path to name the same file.
    """
    parsed = urlparse(output_path)
    path = re.sub(r"/+", "/", parsed.path).rstrip("/")
    if parsed.scheme:
        prefix = f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else f"{parsed.scheme}:"
    else:
        prefix = ""
    return f"{prefix}{path}/{run_id}/manifest.json"


def _local_path(path: str) -> str | None:
    """The local filesystem path of a plain or ``file:`` path, else None (s3a://, hdfs://, ...)."""
    parsed = urlparse(path)
    if parsed.scheme == "file":
        return parsed.path
    return path if not parsed.scheme else None


default_args = {
    "owner": "prefscore",
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
}

with DAG(
    dag_id="prefscore_west_of_n",
    description="Prompts -> West-of-N preference pairs with Sr-DPO terms (prefscore on Spark)",
    doc_md=__doc__,
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["prefscore", "spark"],
) as dag:

    @task
    def run_manifest(output_path: str, run_id: str) -> str:
        """The finished run's manifest path (pushed to XCom as return_value)."""
        path = manifest_path(output_path, run_id)
        local = _local_path(path)
        if local is not None:
            success = os.path.join(os.path.dirname(local), "_SUCCESS")
            if not os.path.exists(success):
                raise FileNotFoundError(f"run {run_id} has no _SUCCESS marker: {success}")
        return path

    def west_of_n(round_: int, extra_args: list[str]) -> SparkSubmitOperator:
        """Round ``round_`` of iterative West-of-N on the day's prompts, with its mix."""
        return SparkSubmitOperator(
            task_id=f"west_of_n_round_{round_}",
            conn_id="spark_default",
            application=APP_JAR,
            java_class=MAIN_CLASS,
            name=WEST_OF_N_RUN_IDS[round_],
            conf=SPARK_CONF,
            application_args=[
                "west-of-n",
                "--config", CONFIG,
                "--set", f"run.id={WEST_OF_N_RUN_IDS[round_]}",
                "--set", f"run.round={round_}",
                "--set", f"input.path={INPUT_ROOT}/dt=" + "{{ ds }}",
                "--set", f"mix.base-preferences={BASE_PREFERENCES}",
                "--set", f"output.path={OUTPUT_PATH}",
                *extra_args,
                "--set", "spark.master=",
            ],
            execution_timeout=timedelta(hours=12),
        )

    west_of_n_round_1 = west_of_n(1, [])

    # The external task: reward-model training on round 1's mix, outside Spark (not run by the
    # project's tests; the command's contract is in the module docstring and airflow/README.md).
    train_reward_model_round_1 = BashOperator(
        task_id="train_reward_model_round_1",
        bash_command=(
            f"{TRAINING_COMMAND}"
            f" --run {OUTPUT_PATH}/{WEST_OF_N_RUN_IDS[1]}"
            f" --base-model {REWARD_BASE_MODEL}"
            f" --output {STUDENTS[1]}"
        ),
        execution_timeout=timedelta(hours=24),
    )

    # Round 2: the student is the base preference model (pointwise), the only teacher.
    west_of_n_round_2 = west_of_n(2, [
        "--set", f"models.reward={STUDENTS[1]}",
        "--set", "models.judge=",
        "--set", "models.pairwise-classifier=",
    ])

    score_pairs = SparkSubmitOperator(
        task_id="score_pairs",
        conn_id="spark_default",
        application=APP_JAR,
        java_class=MAIN_CLASS,
        name=SCORE_PAIRS_RUN_ID,
        conf=SPARK_CONF,
        application_args=[
            "score-pairs",
            "--config", CONFIG,
            "--set", f"run.id={SCORE_PAIRS_RUN_ID}",
            "--set", f"input.path={OUTPUT_PATH}/{WEST_OF_N_RUN_IDS[2]}/pairs",
            "--set", "input.format=parquet",
            "--set", "input.id-column=prompt_id",
            "--set", f"output.path={OUTPUT_PATH}",
            "--set", f"models.policy-checkpoint={POLICY_CHECKPOINT}",
            "--set", "spark.master=",
        ],
        execution_timeout=timedelta(hours=6),
    )

    manifests = {
        r: run_manifest.override(task_id=f"west_of_n_round_{r}_manifest")(OUTPUT_PATH, WEST_OF_N_RUN_IDS[r])
        for r in ROUNDS
    }
    score_pairs_manifest = run_manifest.override(task_id="score_pairs_manifest")(OUTPUT_PATH, SCORE_PAIRS_RUN_ID)

    (
        west_of_n_round_1 >> manifests[1] >> train_reward_model_round_1
        >> west_of_n_round_2 >> manifests[2] >> score_pairs >> score_pairs_manifest
    )
