#include "core/html.h"

#include <gtest/gtest.h>

namespace modelwatch {
namespace {

TEST(HtmlEscapeTest, EscapesTheFourSpecialCharactersOnly) {
  EXPECT_EQ(HtmlEscape(R"(<a href="x">Tom & 'Jerry'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; 'Jerry'&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape(""), "");
  EXPECT_EQ(HtmlEscape("plain ü"), "plain ü");
}

}  // namespace
}  // namespace modelwatch
