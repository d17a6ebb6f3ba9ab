"""Every text shown to citizens, in one place so it can be reviewed and translated."""

TOPIC_NAMES = {
    "vneid": "VNeID và định danh điện tử",
    "dichvucong": "Dịch vụ công trực tuyến",
    "thanhtoan": "Thanh toán không dùng tiền mặt",
    "luadao": "Phòng tránh lừa đảo trên mạng",
    "taikhoan": "Bảo vệ tài khoản và thông tin",
    "hokinhdoanh": "Hộ kinh doanh và bán hàng trực tuyến",
    "phongtrao": "Phong trào Bình dân học vụ số",
    "nq57": "Nghị quyết 57-NQ/TW",
    "kehoach": "Kế hoạch của tỉnh, xã, phường",
}

DECLINE = (
    "Xin lỗi, tôi chưa chắc chắn về câu hỏi này nên không muốn trả lời sai.\n"
    "Bạn có thể hỏi lại ngắn gọn hơn, chọn một chủ đề gợi ý, "
    "hoặc gửi câu hỏi cho Tổ công nghệ số cộng đồng để cán bộ trả lời."
)
DECLINE_EMPTY = "Bạn chưa nhập câu hỏi. Hãy gõ câu hỏi của bạn, ví dụ: «Cách kích hoạt VNeID mức 2?»"
SOURCE_PREFIX = "Nguồn"
SEE_MORE = "(Còn tiếp, bấm «Xem thêm» để đọc hết.)"
RELATED_HEADER = "Câu hỏi liên quan"

WELCOME = (
    "Xin chào {name}! Tôi là trợ lý của phong trào «Bình dân học vụ số».\n"
    "Tôi trả lời câu hỏi về:\n"
    "1. VNeID và dịch vụ công trực tuyến\n"
    "2. Thanh toán không dùng tiền mặt\n"
    "3. Phòng tránh lừa đảo trên mạng\n"
    "4. Nghị quyết 57 và phong trào Bình dân học vụ số\n"
    "Bạn cứ gõ câu hỏi, có dấu hay không dấu đều được. Hoặc chọn một chủ đề bên dưới."
)
HELP = (
    "Cách dùng:\n"
    "• Gõ câu hỏi bất kỳ, ví dụ: «cách kích hoạt VNeID mức 2».\n"
    "• /chude: xem câu hỏi theo chủ đề.\n"
    "• /dangky: nhận tin tức của xã, phường. /huydangky: dừng nhận tin.\n"
    "• /quiz: trả lời câu đố. /diem: xem điểm của bạn.\n"
    "• /canbo <câu hỏi>: gửi câu hỏi cho Tổ công nghệ số cộng đồng."
)
TOPICS_PROMPT = "Bạn muốn tìm hiểu chủ đề nào?"
TOPIC_QUESTIONS = "Các câu hỏi thường gặp về «{topic}»:"
CHOICE_PROMPT = "Gõ số để chọn (ví dụ: 1)."
QUIZ_CHOICE_PROMPT = "Gõ chữ cái để trả lời (A, B, C hoặc D)."
CHOICE_UNKNOWN = "Số bạn chọn không có trong danh sách. Bạn hãy gõ lại số khác, hoặc gõ câu hỏi mới."

BUTTON_LIKE = "👍 Hữu ích"
BUTTON_DISLIKE = "👎 Chưa đúng"
BUTTON_ESCALATE = "🙋 Hỏi cán bộ"
BUTTON_ALL_AREAS = "Toàn quốc"
FEEDBACK_THANKS = "Cảm ơn bạn đã góp ý!"
FEEDBACK_SORRY = "Cảm ơn bạn! Nếu câu trả lời chưa đúng, bạn có thể gửi câu hỏi cho cán bộ."

ESCALATE_ASK = "Bạn hãy gõ: /canbo rồi câu hỏi của bạn. Ví dụ: /canbo tôi không đăng nhập được VNeID"
ESCALATED = (
    "Đã gửi câu hỏi của bạn cho Tổ công nghệ số cộng đồng (mã #{id}).\n"
    "Cán bộ sẽ trả lời bạn ngay trong cuộc trò chuyện này. "
    "Nếu cần gấp, bạn có thể đến Ủy ban nhân dân xã, phường nơi bạn ở."
)

SUBSCRIBE_PROMPT = "Bạn muốn nhận tin của khu vực nào? Chọn bên dưới, hoặc gõ /dangky <tên xã, phường, tỉnh>."
SUBSCRIBED = "Bạn đã đăng ký nhận tin của {area}. Gõ /huydangky để dừng bất cứ lúc nào."
SUBSCRIBE_UNKNOWN = "Tôi chưa tìm thấy khu vực «{query}». Bạn hãy chọn trong danh sách bên dưới."
UNSUBSCRIBED = "Bạn đã dừng nhận tin. Khi muốn nhận lại, gõ /dangky."
NOT_SUBSCRIBED = "Bạn chưa đăng ký nhận tin. Gõ /dangky để đăng ký."

QUIZ_EMPTY = "Hiện chưa có câu đố nào. Bạn quay lại sau nhé."
QUIZ_RIGHT = "✅ Chính xác! {explanation}"
QUIZ_WRONG = "❌ Chưa đúng. Đáp án đúng là: {answer}. {explanation}"
QUIZ_ALREADY = "Bạn đã trả lời câu này rồi. Gõ /quiz để nhận câu mới."
SCORE = "Bạn đã trả lời đúng {right}/{total} câu đố."
SCORE_NONE = "Bạn chưa trả lời câu đố nào. Gõ /quiz để bắt đầu."

FLOOD = "Bạn gửi nhanh quá. Xin chờ ít giây rồi gửi tiếp nhé."
UNKNOWN_COMMAND = "Tôi chưa hiểu lệnh «/{command}». Gõ /help để xem các lệnh, hoặc gõ câu hỏi của bạn."
NOT_TEXT = "Hiện tôi chỉ đọc được tin nhắn chữ. Bạn hãy gõ câu hỏi bằng chữ nhé."
UNSUPPORTED_ACCOUNT = "Xin lỗi, tôi chưa thể trò chuyện với tài khoản này."
RETRY_LATER = "Xin lỗi, hệ thống đang bận. Bạn vui lòng thử lại sau ít phút."

# --- web chat API (bot/channels/web_api.py): shown to people when a request is refused ---
WEB_BAD_REQUEST = "Yêu cầu không hợp lệ. Bạn hãy tải lại trang rồi thử lại."
WEB_TOO_LARGE = "Tin nhắn quá dài. Bạn hãy hỏi ngắn gọn hơn."
WEB_NEED_QUESTION = "Bạn chưa nhập câu hỏi. Hãy gõ câu hỏi của bạn, ví dụ: «Cách kích hoạt VNeID mức 2?»"
WEB_NOT_FOUND = "Không tìm thấy trang bạn cần."
WEB_ERROR = "Xin lỗi, hệ thống gặp sự cố. Bạn vui lòng thử lại sau ít phút."
