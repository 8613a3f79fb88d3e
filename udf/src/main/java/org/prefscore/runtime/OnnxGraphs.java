package org.prefscore.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Which ONNX graph of a model directory to load. Pure: works on a listing of the directory's files
 * (paths relative to it, with {@code /}), so that the driver can apply the same rule to a directory
 * on a Hadoop FS without opening it.
 *
 * <p>Two layouts are recognised:
 *
 * <ul>
 *   <li>the graph at the top, beside config.json ({@code model.onnx}: Optimum's {@code
 *       main_export}, this project's fixtures);
 *   <li>the graphs under {@value #SUBFOLDER}/ (the Hugging Face Hub's transformers.js and many
 *       Optimum repositories: {@code onnx/model.onnx}, often beside {@code model_fp16.onnx}, {@code
 *       model_quantized.onnx}, {@code model_q4.onnx}, ...).
 * </ul>
 *
 * A graph is a file ending in {@code .onnx} at the top or directly under {@value #SUBFOLDER}/. With
 * exactly one, it is used; with several, one must be chosen (the {@code models.<model>.onnx-file}
 * keys): by its path ({@code onnx/model_fp16.onnx}) or, when that is unambiguous, by its file name
 * ({@code model_fp16.onnx}). A graph's external-data files (its weights when over 2 GB) lie beside
 * it ({@link #isExternalDataOf}).
 */
public final class OnnxGraphs {

  /** The folder of the Hub layout. */
  public static final String SUBFOLDER = "onnx";

  private OnnxGraphs() {}

  /** The graphs among {@code files} (relative paths), sorted. */
  public static List<String> graphs(Collection<String> files) {
    TreeSet<String> graphs = new TreeSet<>();
    for (String f : files) {
      if (f.endsWith(".onnx") && isGraphLocation(f)) {
        graphs.add(f);
      }
    }
    return List.copyOf(graphs);
  }

  private static boolean isGraphLocation(String file) {
    int slash = file.indexOf('/');
    return slash < 0
        || (file.substring(0, slash).equals(SUBFOLDER) && file.indexOf('/', slash + 1) < 0);
  }

  /**
   * The graph to load, as a path relative to the directory.
   *
   * @param files the directory's files, relative paths with {@code /} (at least the top level and
   *     {@value #SUBFOLDER}/)
   * @param chosen the configured choice, a relative path or a file name; empty: the only graph
   * @throws IllegalArgumentException saying what is wrong and listing the graphs there are
   */
  public static String choose(Collection<String> files, String chosen) {
    List<String> graphs = graphs(files);
    String choice = chosen == null ? "" : chosen.trim();
    if (choice.isEmpty()) {
      if (graphs.size() == 1) {
        return graphs.get(0);
      }
      if (graphs.isEmpty()) {
        throw new IllegalArgumentException(
            "has no ONNX graph: no *.onnx file at the top or under " + SUBFOLDER + "/");
      }
      throw new IllegalArgumentException(
          "has "
              + graphs.size()
              + " ONNX graphs "
              + graphs
              + ": choose one with the model's onnx-file key (models.<model>.onnx-file)");
    }
    if (choice.startsWith("/")
        || choice.contains("\\")
        || List.of(choice.split("/", -1)).contains("..")
        || !choice.endsWith(".onnx")) {
      throw new IllegalArgumentException(
          "onnx-file '"
              + choice
              + "' must be a *.onnx file at the top or under "
              + SUBFOLDER
              + "/ of the model directory, named by its file name or its path there; the"
              + " directory has "
              + graphs);
    }
    if (graphs.contains(choice)) {
      return choice;
    }
    List<String> byName = new ArrayList<>();
    if (choice.indexOf('/') < 0) {
      for (String g : graphs) {
        if (g.equals(SUBFOLDER + "/" + choice)) {
          byName.add(g);
        }
      }
    }
    if (byName.size() == 1) {
      return byName.get(0);
    }
    throw new IllegalArgumentException(
        "has no ONNX graph '"
            + choice
            + "' (at the top or under "
            + SUBFOLDER
            + "/); its graphs are "
            + graphs);
  }

  /**
   * Whether {@code file} holds external tensor data of {@code graph} (both relative paths): a file
   * in the graph's folder named after it with {@code _data} or {@code .data} appended, optionally
   * followed by more (Optimum writes {@code model.onnx_data}, torch {@code model.onnx.data},
   * transformers.js {@code model_fp16.onnx_data}, and some exporters number the parts, {@code
   * model.onnx_data_1}).
   */
  public static boolean isExternalDataOf(String graph, String file) {
    return file.startsWith(graph + "_data") || file.startsWith(graph + ".data");
  }

  /**
   * The files of a local directory that {@link #choose} looks at: the top and {@value #SUBFOLDER}/.
   */
  public static List<String> list(Path directory) {
    List<String> files = new ArrayList<>();
    addFiles(directory, "", files);
    Path sub = directory.resolve(SUBFOLDER);
    if (Files.isDirectory(sub)) {
      addFiles(sub, SUBFOLDER + "/", files);
    }
    return files;
  }

  private static void addFiles(Path dir, String prefix, List<String> into) {
    try (Stream<Path> list = Files.list(dir)) {
      for (Path f : (Iterable<Path>) list::iterator) {
        if (Files.isRegularFile(f)) {
          into.add(prefix + f.getFileName());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
  }
}
