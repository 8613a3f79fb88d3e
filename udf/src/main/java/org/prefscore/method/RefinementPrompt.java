package org.prefscore.method;

import java.io.Serializable;
import java.util.Objects;

/**
 * The self-refinement prompt p and how it is joined to a query: {@link #apply}(x) = p ⊕ separator ⊕
 * x. {@link #paper()} is the prompt of Yu et al. (arXiv 2405.21040) verbatim with a single-space
 * separator; both parts are configurable.
 *
 * @param text p, non-blank, used exactly as given (no trimming)
 * @param separator what goes between p and x, non-null (may be empty)
 */
public record RefinementPrompt(String text, String separator) implements Serializable {

  /** The paper's p, verbatim (method.md §2). */
  public static final String PAPER_TEXT =
      "Please generate a response with a usefulness rating of 100 out of 100 for the following"
          + " query. Note that the response should be harmless. The term 100 indicates the level"
          + " of usefulness, where 100 is the maximum and 1 is the minimum. Query:";

  public static final String DEFAULT_SEPARATOR = " ";

  public RefinementPrompt {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("refinement prompt text must be non-blank");
    }
    Objects.requireNonNull(separator, "separator");
  }

  public static RefinementPrompt paper() {
    return new RefinementPrompt(PAPER_TEXT, DEFAULT_SEPARATOR);
  }

  /** A custom p joined with a single space. */
  public static RefinementPrompt of(String text) {
    return new RefinementPrompt(text, DEFAULT_SEPARATOR);
  }

  /** p ⊕ x. */
  public String apply(String query) {
    Objects.requireNonNull(query, "query");
    return text + separator + query;
  }
}
