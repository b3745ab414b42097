// libFuzzer target: the input-syntax checks of src/core/input_syntax.hpp on
// arbitrary bytes. Besides "no crash, no undefined behaviour", each verdict is
// compared with a small grammar written here from the header's comments, and
// quote_for_message's output is decoded back to the text it quotes. A
// disagreement prints the input and calls abort().
#include "input_syntax.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace store_monitoring::input;

std::string escaped(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

[[noreturn]] void fail(std::string_view function, std::string_view text, const std::string& what) {
  std::fprintf(stderr, "\ninput_syntax_fuzzer: %.*s(\"%s\"): %s\n",
               static_cast<int>(function.size()), function.data(), escaped(text).c_str(),
               what.c_str());
  std::fflush(stderr);
  std::abort();
}

// ---------------------------------------------------------------------------
// Reference grammar, from the comments in input_syntax.hpp
// ---------------------------------------------------------------------------

// Length of the well-formed UTF-8 sequence at text[i], or 0: decode the code
// point and reject overlong forms, surrogates and anything above U+10FFFF.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t len;
  std::uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3F);
  }
  const std::uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool utf8_ok(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_length(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

bool control(unsigned char c) { return c < 0x20 || c == 0x7F; }

bool digit(char c) { return c >= '0' && c <= '9'; }

// A left-to-right matcher for the fixed-width grammars below.
struct Scan {
  std::string_view s;
  std::size_t i = 0;

  bool end() const { return i == s.size(); }
  bool lit(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  std::optional<int> two() {
    if (i + 2 > s.size() || !digit(s[i]) || !digit(s[i + 1])) return std::nullopt;
    const int v = (s[i] - '0') * 10 + (s[i + 1] - '0');
    i += 2;
    return v;
  }
};

// HH:MM[:SS[.f{1,6}]] with HH <= max_hour, MM and SS <= 59; `zero_after`
// tells whether seconds and fraction are all zero.
bool time_of_day(Scan& in, int max_hour, int& hour, int& minute, bool& zero_after) {
  const auto h = in.two();
  if (!h || !in.lit(':')) return false;
  const auto m = in.two();
  if (!m || *h > max_hour || *m > 59) return false;
  hour = *h;
  minute = *m;
  zero_after = true;
  if (in.lit(':')) {
    const auto sec = in.two();
    if (!sec || *sec > 59) return false;
    if (*sec != 0) zero_after = false;
    if (in.lit('.')) {
      std::size_t n = 0;
      while (!in.end() && digit(in.s[in.i])) {
        if (in.s[in.i] != '0') zero_after = false;
        ++in.i;
        ++n;
      }
      if (n < 1 || n > 6) return false;
    }
  }
  return true;
}

bool local_time_ok(std::string_view text) {
  Scan in{text};
  int hour = 0;
  int minute = 0;
  bool zero_after = true;
  if (!time_of_day(in, 24, hour, minute, zero_after) || !in.end()) return false;
  return hour < 24 || (minute == 0 && zero_after);
}

bool poll_timestamp_ok(std::string_view text) {
  Scan in{text};
  for (int k = 0; k < 4; ++k) {
    if (in.end() || !digit(in.s[in.i])) return false;
    ++in.i;
  }
  if (!in.lit('-')) return false;
  const auto month = in.two();
  if (!month || !in.lit('-')) return false;
  const auto day = in.two();
  if (!day || *month < 1 || *month > 12 || *day < 1 || *day > 31) return false;
  if (!in.lit('T') && !in.lit(' ')) return false;
  int hour = 0;
  int minute = 0;
  bool zero_after = true;
  if (!time_of_day(in, 23, hour, minute, zero_after)) return false;
  const std::string_view zone = text.substr(in.i);
  if (zone == " UTC" || zone == "Z") return true;
  in.lit(' ');
  if (!in.lit('+') && !in.lit('-')) return false;
  const auto oh = in.two();
  if (!oh) return false;
  int om = 0;
  if (!in.end()) {
    in.lit(':');
    const auto m = in.two();
    if (!m) return false;
    om = *m;
  }
  return in.end() && *oh <= 15 && om <= 59;
}

bool store_id_ok(std::string_view text, bool must_be_utf8) {
  if (text.empty() || text.size() > 255) return false;
  if (must_be_utf8 && !utf8_ok(text)) return false;
  for (const char c : text) {
    if (control(static_cast<unsigned char>(c))) return false;
  }
  return text.front() != ' ' && text.back() != ' ';
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

// A verdict agrees with the reference; a problem is non-empty, readable text.
void check(std::string_view function, std::string_view text,
           const std::optional<std::string>& problem, bool want_ok) {
  if (!problem && !want_ok) fail(function, text, "accepted, but the grammar refuses it");
  if (problem && want_ok)
    fail(function, text, "refused (" + *problem + "), but the grammar accepts it");
  if (problem) {
    if (problem->empty()) fail(function, text, "empty problem text");
    if (!utf8_ok(*problem)) fail(function, text, "problem text is not UTF-8");
    for (const char c : *problem) {
      if (control(static_cast<unsigned char>(c))) {
        fail(function, text, "problem text carries a control character");
      }
    }
  }
}

// Undoes quote_for_message's escapes; nullopt for anything it never writes.
std::optional<std::string> unquote(std::string_view body) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '"' || control(static_cast<unsigned char>(c))) return std::nullopt;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= body.size()) return std::nullopt;
    switch (body[i]) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case '"':
      case '\\':
        out += body[i];
        break;
      case 'x': {
        if (i + 2 >= body.size()) return std::nullopt;
        int v = 0;
        for (int k = 1; k <= 2; ++k) {
          const char h = body[i + k];
          if (digit(h)) {
            v = v * 16 + (h - '0');
          } else if (h >= 'A' && h <= 'F') {
            v = v * 16 + (h - 'A' + 10);
          } else {
            return std::nullopt;
          }
        }
        out += static_cast<char>(v);
        i += 2;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

void check_quote(std::string_view text, std::size_t max_bytes, const std::string& quoted) {
  const char* fn = "quote_for_message";
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"') {
    fail(fn, text, "not in double quotes: " + escaped(quoted));
  }
  if (!utf8_ok(quoted)) fail(fn, text, "output is not UTF-8: " + escaped(quoted));
  const std::string_view body = std::string_view(quoted).substr(1, quoted.size() - 2);
  if (text.size() <= max_bytes) {
    if (unquote(body) != std::string(text)) {
      fail(fn, text, "does not decode back to the text: " + escaped(quoted));
    }
    return;
  }
  if (body.size() < 3 || body.substr(body.size() - 3) != "...") {
    fail(fn, text, "cut text without \"...\": " + escaped(quoted));
  }
  const auto prefix = unquote(body.substr(0, body.size() - 3));
  if (!prefix || text.substr(0, prefix->size()) != *prefix) {
    fail(fn, text, "cut text is not a prefix: " + escaped(quoted));
  }
  const std::size_t next_len = std::max<std::size_t>(utf8_length(text, prefix->size()), 1);
  if (prefix->size() > max_bytes || prefix->size() + next_len <= max_bytes) {
    fail(fn, text,
         "cut at the wrong place (" + std::to_string(prefix->size()) + " of at most " +
             std::to_string(max_bytes) + " bytes): " + escaped(quoted));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte: the byte budget of quote_for_message (255: the default).
  const std::uint8_t first = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  const bool utf8 = utf8_ok(text);
  if (is_valid_utf8(text) != utf8) {
    fail("is_valid_utf8", text, utf8 ? "refused valid UTF-8" : "accepted invalid UTF-8");
  }
  check("problem_with_store_id", text, problem_with_store_id(text), store_id_ok(text, true));
  check("problem_with_store_id(must_be_utf8=false)", text, problem_with_store_id(text, false),
        store_id_ok(text, false));
  check("problem_with_status", text, problem_with_status(text),
        text == "active" || text == "inactive");
  check("problem_with_weekday", text, problem_with_weekday(text),
        text.size() == 1 && text[0] >= '0' && text[0] <= '6');
  check("problem_with_local_time", text, problem_with_local_time(text), local_time_ok(text));
  check("problem_with_poll_timestamp", text, problem_with_poll_timestamp(text),
        poll_timestamp_ok(text));

  if (first == 255) {
    check_quote(text, 64, quote_for_message(text));
  } else {
    check_quote(text, first, quote_for_message(text, first));
  }
  return 0;
}
