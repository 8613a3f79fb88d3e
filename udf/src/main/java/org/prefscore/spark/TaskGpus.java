package org.prefscore.spark;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The GPU Spark assigned to the running task, as a CUDA device ordinal for ONNX Runtime.
 *
 * <p>Spark hands a task the addresses of its {@code gpu} resource ({@code
 * TaskContext.get().resources().get("gpu")}, set up by {@code spark.executor.resource.gpu.*} and
 * {@code spark.task.resource.gpu.amount} or a stage's resource profile); the standard discovery
 * script reports nvidia-smi indices. A task with a fractional amount (e.g. 0.5) shares its address
 * with other tasks; a task with several GPUs uses the first. When the process sees only some GPUs
 * ({@code CUDA_VISIBLE_DEVICES} set, e.g. by a container runtime), CUDA renumbers them from 0, so
 * an address listed there maps to its position in that list.
 */
public final class TaskGpus {

  private static final Logger LOG = LoggerFactory.getLogger(TaskGpus.class);
  private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

  private TaskGpus() {}

  /**
   * The CUDA ordinal for the running task: its first assigned GPU address, else {@code fallback}
   * (logged once per JVM: no GPU was assigned, e.g. local mode or no task GPU amount).
   */
  public static int deviceForTask(int fallback) {
    TaskContext task = TaskContext.get();
    String[] addresses = null;
    if (task != null) {
      Map<String, ResourceInformation> resources = task.resourcesJMap();
      ResourceInformation gpu = resources == null ? null : resources.get("gpu");
      addresses = gpu == null ? null : gpu.addresses();
    }
    String visible = System.getenv("CUDA_VISIBLE_DEVICES");
    int device = ordinal(addresses, visible, fallback);
    if (addresses == null || addresses.length == 0) {
      if (LOGGED.add("none")) {
        LOG.warn(
            "runtime.device=cuda but Spark assigned no GPU to this task (local mode, or no "
                + "spark.task.resource.gpu.amount / stage resource profile); using CUDA device {}",
            device);
      }
    } else if (LOGGED.add(addresses[0])) {
      LOG.info(
          "tasks given Spark GPU address {} run their models on CUDA device {}{}",
          addresses[0],
          device,
          visible == null ? "" : " (CUDA_VISIBLE_DEVICES=" + visible + ")");
    }
    return device;
  }

  /**
   * The CUDA ordinal for assigned {@code addresses}: the first address's position in {@code
   * visibleDevices} (the value of CUDA_VISIBLE_DEVICES) when listed there, else the address as a
   * number; {@code fallback} when there is no address or it is not a number.
   */
  static int ordinal(String[] addresses, String visibleDevices, int fallback) {
    if (addresses == null || addresses.length == 0) {
      return fallback;
    }
    String address = addresses[0].trim();
    if (visibleDevices != null && !visibleDevices.isBlank()) {
      List<String> visible = Arrays.stream(visibleDevices.split(",")).map(String::trim).toList();
      int position = visible.indexOf(address);
      if (position >= 0) {
        return position;
      }
    }
    try {
      int ordinal = Integer.parseInt(address);
      return ordinal >= 0 ? ordinal : fallback;
    } catch (NumberFormatException e) {
      if (LOGGED.add("bad:" + address)) {
        LOG.warn("GPU address '{}' is not a CUDA ordinal; using CUDA device {}", address, fallback);
      }
      return fallback;
    }
  }
}
