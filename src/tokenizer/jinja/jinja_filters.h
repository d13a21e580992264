// Filters (`x | name(args)`), tests (`x is name`), methods (`x.name(args)`)
// and globals of the chat-template interpreter.
//
// Behaviour follows @huggingface/jinja where it defines one; filters, tests
// and methods it lacks (count, d, escape, round, wordcount, select, reject,
// map with a filter name, list.append, ...) follow Python jinja2.
// All of these throw jinja::Failure on bad operands; the evaluator adds the
// template position.
#pragma once

#include <string>
#include <string_view>

#include "tokenizer/jinja/jinja_value.h"

namespace loam::jinja {

class Evaluator;

bool filter_exists(std::string_view name);
bool test_exists(std::string_view name);

Value filter_apply(Evaluator& ev, std::string_view name, const Value& operand,
                   const CallArgs& args, Scope& scope);
bool test_apply(std::string_view name, const Value& operand, const CallArgs& args);

// dict|dictsort and dict.dictsort(case_sensitive, by, reverse): [key, value] pairs.
Value dict_sorted(const Value& dict, const CallArgs& args);

// `object.key` / `object[key]`: dict entries, list/string indices, and the
// methods of strings, dicts and lists (returned as bound functions).
// Returns undefined when there is no such member.
Value member_get(const Value& object, const Value& key);

// Installs range, namespace, dict, raise_exception, strftime_now.
void globals_install(Scope& scope);

}  // namespace loam::jinja
