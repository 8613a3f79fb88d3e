/**
 * Chat templates and prompt rendering: {@link org.prefscore.chat.ChatTemplate} renders a model's
 * Hugging Face {@code chat_template} as transformers' {@code apply_chat_template} does (lexed and
 * parsed by {@code JinjaLexer} and {@code JinjaParser}, evaluated over plain values by {@code
 * JinjaRenderer} under {@link org.prefscore.chat.TemplateLimits}); {@link
 * org.prefscore.chat.PromptRenderer} turns a plain or chat prompt into x and p ⊕ x. Pure of Spark
 * and DJL.
 */
package org.prefscore.chat;
