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
