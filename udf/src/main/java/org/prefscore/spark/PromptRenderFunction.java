package org.prefscore.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.prefscore.chat.ChatMessage;
import org.prefscore.chat.PromptRenderer;
import org.prefscore.executor.Chunks;
import org.prefscore.executor.ExecutorRegistry;
import org.prefscore.method.RefinementPrompt;
import org.prefscore.runtime.ModelFiles;
import org.prefscore.runtime.ModelSpec;

/**
 * score-pairs / evaluate: turns {@link OutputSchema#PROMPTS} rows holding (prompt or messages,
 * chosen, rejected) into {@link OutputSchema#PAIR_WORK} rows with x and p ⊕ x rendered by {@link
 * PromptRenderer} (chat template of {@code templateModel}). Rows whose chosen/rejected are
 * assistant turns ({@code chosen_messages}) get x, p ⊕ x and both responses from {@link
 * PromptRenderer#renderTurns} and {@code response_format = chat}; the others keep their text
 * responses ({@code text}). A conversation that cannot be rendered becomes a CHAT_TEMPLATE_ERROR
 * reject of stage {@code render}.
 *
 * <p>Only the model's files are read (chat template, special tokens), once per executor JVM and
 * directory; the graph is not loaded, so this stage needs no GPU.
 */
public final class PromptRenderFunction implements MapPartitionsFunction<Row, Row> {

  private static final long serialVersionUID = 1L;
  public static final String STAGE = "render";

  private final ModelSpec templateModel;
  private final RefinementPrompt refinement;
  private final ModelPlacement placement;
  private final Map<String, Object> templateKwargs;

  /**
   * @param templateModel the model whose chat template renders the conversations
   * @param refinement p and its separator
   * @param placement where executors find the model directory
   * @param templateKwargs chat template keyword arguments for every rendering
   *     (chat.template-kwargs): plain serializable values
   */
  public PromptRenderFunction(
      ModelSpec templateModel,
      RefinementPrompt refinement,
      ModelPlacement placement,
      Map<String, Object> templateKwargs) {
    this.templateModel = templateModel;
    this.refinement = refinement;
    this.placement = placement == null ? ModelPlacement.defaults() : placement;
    this.templateKwargs = PromptRenderer.checked(templateKwargs);
  }

  @Override
  public Iterator<Row> call(Iterator<Row> tuples) {
    return new Chunks<>(tuples, 64, new Worker()::process);
  }

  private final class Worker {
    private PromptRenderer renderer;

    List<Row> process(List<Row> chunk) {
      if (renderer == null) {
        String local = placement.localDirectory(templateModel.directory());
        ExecutorRegistry registry = ExecutorRegistry.instance();
        ModelFiles files = registry.modelFiles(local, templateModel.onnxFile());
        renderer =
            new PromptRenderer(() -> registry.chatTemplate(files), refinement, templateKwargs);
      }
      List<Row> out = new ArrayList<>(chunk.size());
      for (Row row : chunk) {
        Rows pair =
            Rows.of(OutputSchema.PAIR_WORK)
                .set(OutputSchema.INPUT_ROW, Rows.get(row, OutputSchema.INPUT_ROW))
                .set(OutputSchema.PROMPT_ID, Rows.get(row, OutputSchema.PROMPT_ID))
                .set(OutputSchema.SCORE_GAP, Rows.get(row, OutputSchema.SCORE_GAP));
        try {
          List<ChatMessage> chosenTurns = InputMessages.of(row, OutputSchema.CHOSEN_MESSAGES);
          if (chosenTurns != null) {
            PromptRenderer.RenderedTurns r =
                renderer.renderTurns(
                    InputMessages.of(row),
                    chosenTurns,
                    InputMessages.of(row, OutputSchema.REJECTED_MESSAGES));
            pair.set(OutputSchema.PROMPT, r.prompt())
                .set(OutputSchema.PX_PROMPT, r.pxPrompt())
                .set(OutputSchema.CHOSEN, r.chosen())
                .set(OutputSchema.REJECTED, r.rejected())
                .set(OutputSchema.RESPONSE_FORMAT, OutputSchema.RESPONSE_FORMAT_CHAT);
          } else {
            PromptRenderer.Rendered r =
                renderer.render(Rows.get(row, OutputSchema.PROMPT), InputMessages.of(row));
            pair.set(OutputSchema.PROMPT, r.prompt())
                .set(OutputSchema.PX_PROMPT, r.pxPrompt())
                .set(OutputSchema.CHOSEN, Rows.get(row, OutputSchema.CHOSEN))
                .set(OutputSchema.REJECTED, Rows.get(row, OutputSchema.REJECTED))
                .set(OutputSchema.RESPONSE_FORMAT, OutputSchema.RESPONSE_FORMAT_TEXT);
          }
          out.add(pair.build());
        } catch (PromptRenderer.RenderException | IllegalArgumentException e) {
          out.add(
              pair.set(OutputSchema.REJECT_STAGE, STAGE)
                  .set(OutputSchema.REJECT_REASON, "CHAT_TEMPLATE_ERROR")
                  .set(OutputSchema.REJECT_DETAIL, e.getMessage())
                  .build());
        }
      }
      return out;
    }
  }
}
