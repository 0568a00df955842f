"""Reference numbers for PyTorchParityTests.cs, from PyTorch itself (Debian: apt-get install python3-torch).

The model is the one ICOS-FL trains: torch.nn.LSTM(1, H, L, batch_first=True) + torch.nn.Linear(H, 1) on the
last step. (IcosFl's forward adds the window's last value to that output; PyTorchParityTests adds it on its side.)
Weights and inputs come from closed-form formulas that the C# test reproduces exactly, so no file
has to travel between the two. Run: python3 lstm_reference.py
"""
import math
import torch

H, L, BATCH, T = 4, 2, 3, 5


class Forecaster(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size=1, hidden_size=H, num_layers=L, batch_first=True)
        self.linear = torch.nn.Linear(H, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.linear(out[:, -1, :]).squeeze(-1)


def weight(tensor_index, i):
    return 0.5 * math.sin(0.37 * i + 1.3 * tensor_index)


torch.set_num_threads(1)
model = Forecaster()
print("state_dict:", [(k, list(v.shape)) for k, v in model.state_dict().items()])
with torch.no_grad():
    for k, (name, p) in enumerate(model.state_dict().items()):
        flat = torch.tensor([weight(k, i) for i in range(p.numel())], dtype=torch.float32)
        p.copy_(flat.reshape(p.shape))

x = torch.tensor([[0.1 * ((b + 1) * (t + 2) % 7) for t in range(T)] for b in range(BATCH)], dtype=torch.float32)
x = x.unsqueeze(-1)
y = torch.tensor([0.2, 0.5, 0.8], dtype=torch.float32)

model.eval()
with torch.no_grad():
    print("forward:", [f"{v:.7f}" for v in model(x).tolist()])

model.train()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
losses = []
for step in range(3):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print("losses:", [f"{v:.7f}" for v in losses])
print("linear.weight after 3 Adam steps:", [f"{v:.7f}" for v in model.linear.weight.flatten().tolist()])
print("lstm.bias_hh_l1[:4] after 3 Adam steps:", [f"{v:.7f}" for v in model.lstm.bias_hh_l1[:4].tolist()])
