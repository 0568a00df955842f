# The footprint suite's PyTorch baseline: ICOS-FL's local training done by PyTorch itself (torch.nn.LSTM,
# torch.nn.Linear, torch.optim.Adam) on the windows, initial weights and batch order IcosFl trained with.
# usage: python3 train_pytorch.py JOB_DIR THREADS(0 = PyTorch's default) REPEATS START_AT_UNIX_MS
#   JOB_DIR holds job.json (windows, targets, masks, batch order per epoch, hyper-parameters) and
#   initial.safetensors (the model's initial weights as IcosFl exports them)
# prints one JSON line: {"threads", "interop_threads", "epoch_ms": [...], "loss"}
import json, struct, sys, time, torch

job_dir, threads, repeats, start_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if threads > 0:
    torch.set_num_threads(threads)
job = json.load(open(f"{job_dir}/job.json"))
raw = open(f"{job_dir}/initial.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
initial = {k: torch.frombuffer(bytearray(data[t["data_offsets"][0]:t["data_offsets"][1]]), dtype=torch.float32).reshape(t["shape"])
           for k, t in header.items() if k != "__metadata__"}
count, T, F, S = job["count"], job["timeStep"], job["features"], job["steps"]
inputs = torch.tensor(job["inputs"], dtype=torch.float32).reshape(count, T, F)
targets = torch.tensor(job["targets"], dtype=torch.float32).reshape(count, S)
step_weights = torch.tensor([1.0 / (h * h * h) for h in range(1, S + 1)], dtype=torch.float32).reshape(1, S)
masks = torch.tensor(job["masks"], dtype=torch.float32).reshape(count, S) * step_weights
orders = [torch.tensor(o, dtype=torch.int64) for o in job["orders"]]
batch, epochs = job["batchSize"], job["epochs"]


def train():
    """As IcosFl's LocalTraining: the model built and loaded, then every epoch in the given order, Adam per batch."""
    started = time.perf_counter()
    lstm = torch.nn.LSTM(F, job["hiddenSize"], job["numLayers"], batch_first=True)
    linear = torch.nn.Linear(job["hiddenSize"], S)
    model = torch.nn.ModuleDict({"lstm": lstm, "linear": linear})
    model.load_state_dict(initial)
    optimizer = torch.optim.Adam(model.parameters(), lr=job["learningRate"])
    model.train()
    loss_of_epoch = 0.0
    for epoch in range(epochs):
        order = orders[epoch]
        squared_sum, seen = 0.0, 0.0
        for start in range(0, count, batch):
            index = order[start:start + batch]
            x, y, m = inputs.index_select(0, index), targets.index_select(0, index), masks.index_select(0, index)
            optimizer.zero_grad()
            out = linear(lstm(x)[0][:, -1, :]) + x[:, -1, :1]      # residual: changes from the window's last value
            squared = ((out - y) ** 2 * m).sum()
            valid = m.sum()
            (squared / valid).backward()
            optimizer.step()
            squared_sum += squared.item()
            seen += valid.item()
        loss_of_epoch = squared_sum / seen
    return (time.perf_counter() - started) * 1000 / epochs, loss_of_epoch


train()  # warm-up, unmeasured
while time.time() * 1000 < start_at:   # every trainer of a concurrent run starts its measured trainings together
    time.sleep(0.005)
results = [train() for _ in range(repeats)]
print(json.dumps({"threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
                  "epoch_ms": [r[0] for r in results], "loss": results[-1][1]}))
