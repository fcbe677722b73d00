#include "models/pipeline/prompt_conditioning.hpp"

#include <algorithm>

#include "kernels/status_macros.hpp"
#include "models/text/prompt_chunks.hpp"

namespace crowdiff::models {

result<int> text_layers_for_clip_skip(const stable_diffusion& model, int clip_skip) {
  const auto& text = model.config().text;
  const int used = std::min(text.layers_used, model.text_encoder().loaded_layers());
  // SD 2.x's OpenCLIP tower has one layer more than the model conditions on (see the header).
  const int tower = model.config().family == model_family::sd2 ? used + 1 : used;
  const int layers = std::min(used, tower - (std::max(clip_skip, 1) - 1));
  if (layers < 1)
    return status{errc::invalid_argument, "clip_skip " + std::to_string(clip_skip) +
                                              " leaves no text encoder layer (the model has " +
                                              std::to_string(tower) + ")"};
  return layers;
}

result<kernels::tensor> encode_prompts(const stable_diffusion& model, std::string_view prompt,
                                       std::string_view negative, int clip_skip, bool with_negative) {
  CROWDIFF_ASSIGN_OR_RETURN(const int layers, text_layers_for_clip_skip(model, clip_skip));
  const clip_tokenizer& tokenizer = model.tokenizer();
  const int32_t bos = tokenizer.bos(), eos = tokenizer.eos(), pad = model.config().text.pad_token;
  token_chunks positive = chunk_tokens(tokenizer.encode(prompt), bos, eos, pad);
  token_chunks negative_chunks;
  if (with_negative) {
    negative_chunks = chunk_tokens(tokenizer.encode(negative), bos, eos, pad);
    equalize_chunk_counts(positive, negative_chunks, bos, eos, pad);
  }
  const auto chunks = static_cast<int64_t>(positive.rows.size());
  const int64_t batch = with_negative ? 2 : 1;
  const auto length = static_cast<int64_t>(positive.length);
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor ids, kernels::tensor::host({batch * chunks, length},
                                                                       kernels::dtype::i32));  // [B*k, 77]
  int32_t* row = ids.mutable_data_as<int32_t>();
  for (const token_chunks* source : {&positive, &negative_chunks}) {
    for (const auto& chunk : source->rows) {
      std::copy(chunk.begin(), chunk.end(), row);
      row += length;
    }
  }
  kernels::backend& be = model.backend();
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor hidden,
                            model.text_encoder().encode(be, ids, layers));  // [B*k, 77, D]
  return hidden.reshape({batch, chunks * length, hidden.size(2)});          // [B, 77k, D]
}

}  // namespace crowdiff::models
